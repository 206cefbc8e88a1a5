/* The area picker of the user forms: type part of a name, pick an area, and its code is added to
   the codes textarea. <input data-area-search="URL" data-area-target="ID" list="ID-options">. */
"use strict";
(() => {
  const found = new WeakMap(); // input -> {"label shown": code} of the last answer

  async function suggest(input) {
    const q = input.value.trim();
    const list = document.getElementById(input.getAttribute("list"));
    if (q.length < 2 || found.get(input)?.[q]) return;
    const reply = await fetch(`${input.dataset.areaSearch}?q=${encodeURIComponent(q)}`, {
      credentials: "same-origin",
    });
    if (!reply.ok || input.value.trim() !== q) return;
    const options = {};
    list.replaceChildren(
      ...(await reply.json()).map((area) => {
        const label = `${area.name} (${area.level}) ${area.code}`;
        options[label] = area.code;
        const option = document.createElement("option");
        option.value = label;
        return option;
      }),
    );
    found.set(input, options);
  }

  function pick(input) {
    const code = found.get(input)?.[input.value];
    if (!code) return;
    const target = document.getElementById(input.dataset.areaTarget);
    const codes = target.value.split(/[\s,;]+/).filter(Boolean);
    if (!codes.includes(code)) target.value = [...codes, code].join("\n");
    input.value = "";
  }

  let timer;
  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.matches("input[data-area-search]")) return;
    if (found.get(input)?.[input.value]) return pick(input); // chosen from the list
    clearTimeout(timer);
    timer = setTimeout(() => suggest(input), 250);
  });
})();
