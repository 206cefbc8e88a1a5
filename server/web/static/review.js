/* Keyboard use of the review pages (no inline scripts: the CSP forbids them).
   Queue: j / k move between rows, Enter opens the chosen row, / goes to the filters.
   Submission: a approve, r reject, f flag (hasIssues): pick the state and put the cursor in the
   comment; Ctrl+Enter (or Cmd+Enter) in the comment saves. */
"use strict";
(() => {
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

  const table = document.querySelector('[data-keys="queue"]');
  if (table) {
    const rows = Array.from(table.querySelectorAll("tbody tr[data-href]"));
    let current = -1;
    const choose = (i) => {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((row, n) => row.classList.toggle("current", n === current));
      rows.forEach((row, n) => row.setAttribute("aria-selected", n === current ? "true" : "false"));
      rows[current].scrollIntoView({ block: "nearest" });
      rows[current].querySelector("a").focus({ preventScroll: true });
    };
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "j") choose(current + 1);
      else if (event.key === "k") choose(current - 1);
      else if (event.key === "Enter" && current >= 0) window.location = rows[current].dataset.href;
      else if (event.key === "/") document.querySelector("form.filters select, form.filters input").focus();
      else return;
      event.preventDefault();
    });
  }

  // The queue's "choose every row" box ticks (or clears) the rows that can be reviewed.
  const all = document.getElementById("pick-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('#bulk input[name="ids"]').forEach((box) => { box.checked = all.checked; });
    });
  }

  const form = document.getElementById("review-form");
  if (form) {
    const comment = document.getElementById("review-comment");
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      // j / k: the next or previous submission of the queue it was opened from
      const step = { j: "a[rel=next]", k: "a[rel=prev]" }[event.key];
      const link = step && document.querySelector(`nav.neighbours ${step}`);
      if (link) {
        window.location = link.href;
        event.preventDefault();
        return;
      }
      const radio = form.querySelector(`input[data-key="${CSS.escape(event.key)}"]`);
      if (!radio) return;
      radio.checked = true;
      comment.focus();
      event.preventDefault();
    });
    comment.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
})();
