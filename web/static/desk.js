// The desk's scanner input: a USB 2-D scanner types a card's QR text or a
// passport's MRZ and presses Enter; the guest fills in without a round trip
// of the page. Without script the Fill-in button does the same on the server.
(function () {
  "use strict";
  // A refused action answers with the register and why, at the action's
  // address: show the register's, so a reload does not send it again.
  var refused = document.querySelector("[data-register]");
  if (refused && window.history && history.replaceState) {
    history.replaceState(null, "", refused.getAttribute("data-register"));
  }
  var scan = document.getElementById("scan");
  var form = document.getElementById("desk-entry");
  if (!scan || !form || !window.fetch) return;
  var set = function (name, value) {
    var el = form.elements[name];
    if (!el || value == null) return;
    if (el.tagName === "SELECT" && !Array.prototype.some.call(el.options, function (o) { return o.value === value; })) {
      var option = document.createElement("option");
      option.textContent = value;
      el.appendChild(option);
    }
    el.value = value;
  };
  var messages = {};
  try { messages = JSON.parse(document.getElementById("doc-errors").textContent); } catch (e) { /* none */ }
  var note = document.createElement("p");
  note.setAttribute("role", "status");
  scan.parentNode.parentNode.insertBefore(note, scan.parentNode.nextSibling);
  function read() {
    timer = null;
    var text = scan.value;
    if (!text.trim()) return;
    fetch("/api/v1/documents/parse", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text }),
      credentials: "same-origin"
    }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok) {
          note.className = "error";
          var codes = (answer.codes && answer.codes.text) || [res.status === 429 ? "rate" : ""];
          note.textContent = codes.map(function (c) { return messages[c] || messages[""] || c; }).join(" ");
          return;
        }
        var g = answer.guest;
        // The scanner fills the newest guest of the group.
        var last = (+form.elements.guest_count.value || 1) - 1;
        // A document without an address, of another nationality than the
        // one this guest started with (the guest before's): not of that
        // household, so the address copied with it goes.
        var was = form.elements["g" + last + "_nationality"];
        if (g.address == null && g.nationality && was && was.value && was.value !== g.nationality) {
          set("g" + last + "_address", "");
        }
        ["full_name", "date_of_birth", "sex", "nationality", "document_type", "document_number",
          "address", "document_expiry", "capture"]
          .forEach(function (f) { set("g" + last + "_" + f, g[f]); });
        note.className = "ok";
        // Whose document it was, and that the fields want a look.
        note.textContent = [g.full_name, form.dataset.filled].filter(Boolean).join(": ");
        scan.value = "";
        // Next, the room: the one thing a document cannot tell.
        if (!form.elements.room.value) form.elements.room.focus();
        else form.querySelector('.actions button[value="save"]').focus();
      });
    }, function () {
      note.className = "error";
      note.textContent = messages[""] || "";
    });
  }
  // Scanners end with Enter; a multi-line MRZ may arrive as two Enters.
  var timer = null;
  scan.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") return;
    e.preventDefault();
    // The lines of an MRZ arrive joined; the parser reads them so.
    clearTimeout(timer);
    timer = setTimeout(read, 150);
  });
  // Ctrl+Enter: the next guest of the group, then back to the scanner.
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.querySelector('button[value="add_guest"]').click();
    }
  });
  // Back from the form with what it asks for (its error; or, a guest just
  // added, the scanner above the guests): there. Otherwise, on the in-house
  // tab the desk's first job is the next guest; the page stays where it
  // opened (the list, or what the last action said).
  var wanted = form.querySelector("[autofocus]");
  if (wanted) wanted.focus();
  else if (form.closest("details").open) scan.focus({ preventScroll: true });
  // More characters after an Enter: the scanner is still typing (the second
  // line of an MRZ); read once it stops.
  scan.addEventListener("input", function () {
    if (timer) {
      clearTimeout(timer);
      timer = setTimeout(read, 150);
    }
  });
  form.addEventListener("click", function (e) {
    if (e.target.name === "action" && e.target.value === "read") {
      e.preventDefault();
      read();
    }
  });
})();
