// The screening page: keyboard shortcuts and decisions without a page reload.
// The server renders each record (escaped) and returns it with the answer to a decision,
// so the next record shows at once; the model retrains on the server in the background.
(function () {
  "use strict";
  const script = document.currentScript;
  const project = script.dataset.project;
  const codes = (script.dataset.codes || "").split(",").filter(Boolean);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("decide");
  const card = document.getElementById("record");
  const note = document.getElementById("note");
  const reason = document.getElementById("reason");
  const recordId = document.getElementById("record-id");
  const status = document.getElementById("status");
  let busy = false;

  function show(payload) {
    card.innerHTML = payload.html;
    recordId.value = payload.record_id || "";
    note.value = "";
    reason.value = "";
    form.classList.toggle("finished", !payload.record_id);
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    const payload = await response.json().catch(() => ({ error: "the server did not answer" }));
    if (!response.ok) {
      throw new Error(payload.error || "the request failed (" + response.status + ")");
    }
    return payload;
  }

  async function decide(action, code) {
    if (busy) return;
    if (action !== "undo" && !recordId.value) return;
    busy = true;
    status.classList.remove("error");
    try {
      let payload;
      if (action === "undo") {
        payload = await post("/api/projects/" + project + "/undo");
        status.textContent = payload.undone
          ? "undid: " + payload.undone.action + " " + payload.undone.record_id
          : "nothing to undo";
      } else {
        payload = await post("/api/projects/" + project + "/decisions", {
          record_id: recordId.value,
          action: action,
          reason: action === "exclude" ? (code || reason.value || null) : null,
          note: note.value || null,
        });
        const saved = payload.saved;
        status.textContent = "saved: " + saved.action + (saved.reason ? " (" + saved.reason + ")" : "") + " " + saved.record_id;
      }
      show(payload);
    } catch (error) {
      status.textContent = "not saved: " + error.message;
      status.classList.add("error");
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "include";
    decide(action);
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "i") decide("include");
    else if (key === "e") decide("exclude");
    else if (key === "s") decide("skip");
    else if (key === "u") decide("undo");
    else if (key === "n") { event.preventDefault(); note.focus(); }
    else if (/^[1-9]$/.test(key) && codes[Number(key) - 1]) decide("exclude", codes[Number(key) - 1]);
    else return;
    event.preventDefault();
  });
})();
