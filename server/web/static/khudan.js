/* khudan pages: the little JavaScript they share. No inline scripts (the pages' CSP forbids them). */
"use strict";
window.khudan = {
  /* This page's CSRF token, for fetch() calls that change something. */
  csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  },
  /* fetch() with the CSRF header and JSON or FormData body. */
  send(url, method, body) {
    const headers = { "X-CSRF-Token": khudan.csrfToken() };
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(url, { method, headers, body, credentials: "same-origin" });
  },
};

/* <button data-confirm="..."> asks before its form is sent. */
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

/* <select data-autosubmit> sends its form as soon as another value is chosen. */
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
