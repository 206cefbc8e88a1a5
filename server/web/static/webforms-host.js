// Mounts ODK Web Forms (vendored in ./webforms/) on <div id="webform">: the page gives the URLs of
// the form's XML, its media files and where to send a submission (data-* attributes), and the
// messages to show. A submission goes as Collect sends it: multipart, xml_submission_file plus
// one part per file, through the same ingest path; the page's CSRF token rides in a header.
import { createApp, h } from "./webforms/vue.runtime.esm-browser.prod.js";
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from "./webforms/index.js";

const root = document.getElementById("webform");
const status = document.getElementById("webform-status");
const say = (text, kind) => {
  status.textContent = text;
  status.className = `flash flash-${kind}`;
  status.hidden = false;
};
const cfg = root.dataset;
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

// Web Forms asks for a media file by its jr:// URL; the file name is its last segment. It wants
// "type;charset" without a space (getodk/web-forms#269).
const fetchFormAttachment = async (url) => {
  const name = decodeURIComponent(String(url.pathname || url).split("/").pop());
  const reply = await fetch(cfg.mediaUrl + encodeURIComponent(name), { credentials: "same-origin" });
  const type = (reply.headers.get("Content-Type") || "").replace("; charset", ";charset");
  return new Response(await reply.blob(), { status: reply.status, headers: { "Content-Type": type } });
};

const onSubmit = async (payload, callback) => {
  if (cfg.mode === "preview") {
    say(cfg.msgPreview, "ok");
    return;
  }
  const { data: [data], status: state } = payload;
  if (state !== "ready") return;
  const body = new FormData();
  body.append("xml_submission_file", data.instanceFile, "xml_submission_file.xml");
  for (const file of data.attachments) body.append(file.name, file, file.name);
  say(cfg.msgSending, "warn");
  let reply;
  try {
    reply = await fetch(cfg.submitUrl, {
      method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
    });
  } catch (error) {
    say(`${cfg.msgFailed} ${error}`, "error");
    return;
  }
  const answer = await reply.json().catch(() => ({}));
  if (reply.ok) {
    say(answer.message || cfg.msgSent, "ok");
    if (cfg.mode === "edit") {
      window.location.assign(cfg.doneUrl);
      return;
    }
    callback({ next: POST_SUBMIT__NEW_INSTANCE });
  } else {
    say(`${cfg.msgFailed} ${answer.message || reply.status}`, "error");
  }
};

// Editing: Web Forms loads the current version and its files, and on Send writes a new instanceID
// with the old one as deprecatedID, which ingest keeps as a new version (as Collect's edits).
const editInstance = cfg.mode !== "edit" ? null : {
  resolveInstance: async () =>
    (await fetch(cfg.instanceUrl, { credentials: "same-origin" })).text(),
  attachmentFileNames: JSON.parse(cfg.files || "[]"),
  resolveAttachment: (name) =>
    fetch(cfg.filesUrl + encodeURIComponent(name), { credentials: "same-origin" }),
};

const xml = await (await fetch(cfg.formUrl, { credentials: "same-origin" })).text();
const props = { formXml: xml, fetchFormAttachment, onSubmit };
if (editInstance) props.editInstance = editInstance;
const app = createApp({ render: () => h(OdkWebForm, props) });
app.use(webFormsPlugin);
app.mount(root);
