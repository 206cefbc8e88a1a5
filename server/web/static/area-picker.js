/* The area picker: type part of a name (marks optional: "nhon chau" finds "Nhơn Châu"), pick an
   area, and its code is added to the codes textarea of the user forms
   (<input data-area-search="URL" data-area-target="ID" list="ID-options">), or, without a target,
   becomes the input's own value (the area filters of the queue, the map and the results). */
"use strict";
(() => {
  const found = new WeakMap(); // input -> {"label shown": code} of the last answer

  async function suggest(input) {
    const q = input.value.trim();
    const list = document.getElementById(input.getAttribute("list"));
    // A code typed as such (52, 21607, 21607.T01) needs no suggestions.
    if (q.length < 2 || found.get(input)?.[q] || /^[0-9][0-9A-Za-z.]*$/.test(q)) return;
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
    if (!input.dataset.areaTarget) {
      input.value = code;
      return;
    }
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
