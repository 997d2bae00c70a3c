// Enhances the visitor's check-in form. The form works without it; with it,
// guests are added without a round trip, fields fit the nationality, a
// document fills a guest in, what was typed survives a reload, and a send
// that meets no network is retried with the same Idempotency-Key.
(function () {
  "use strict";
  var form = document.getElementById("checkin");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var storeKey = "lt:" + location.pathname;
  var net = document.getElementById("net");
  var countInput = form.elements.guest_count;
  var want = form.elements.want_count;
  var max = want ? +want.max : 1;
  var docErrors = {};
  try { docErrors = JSON.parse(document.getElementById("doc-errors").textContent); } catch (e) { /* visit page */ }

  function blocks() { return form.querySelectorAll("fieldset.guest"); }
  function field(i, name) { return form.elements["g" + i + "_" + name]; }

  // Vietnamese guests give an address; foreigners a visa, entry date, expiry.
  function fitNationality(fs) {
    var i = fs.dataset.i;
    var vn = field(i, "nationality").value === "VNM" && !field(i, "nationality_other").value.trim();
    // Hidden fields are disabled too: what cannot be seen is not sent.
    each(fs.querySelectorAll(".vn"), function (el) { el.hidden = !vn; });
    each(fs.querySelectorAll(".vn input"), function (el) { el.disabled = !vn; });
    each(fs.querySelectorAll(".fx"), function (el) { el.hidden = vn; });
    each(fs.querySelectorAll(".fx input"), function (el) { el.disabled = vn; });
    return vn;
  }

  function wire(fs) {
    var i = function () { return fs.dataset.i; };
    fs.addEventListener("change", function (e) {
      if (/_nationality(_other)?$/.test(e.target.name)) fitNationality(fs);
    });
    fs.addEventListener("input", function (e) {
      if (/_nationality_other$/.test(e.target.name)) fitNationality(fs);
      var type = field(i(), "document_type");
      if (/_document_number$/.test(e.target.name) && !type.value) {
        type.value = fitNationality(fs) ? "cccd" : "passport";
      }
    });
    var cam = fs.querySelector(".cam");
    if (cam && "BarcodeDetector" in window && navigator.mediaDevices) {
      cam.hidden = false;
      cam.onclick = function () { scan(fs); };
    }
    var pic = fs.querySelector(".photo");
    if (pic && window.createImageBitmap) {
      pic.hidden = false;
      pic.querySelector("input").onchange = function () {
        if (this.files[0]) photo(fs, this.files[0]);
        this.value = "";
      };
    }
    fitNationality(fs);
  }

  function sync() {
    var n = blocks().length;
    countInput.value = n;
    want.value = n;
    form.querySelector('[value="add_guest"]').hidden = n >= max;
    form.querySelector('[value="remove_guest"]').hidden = n <= 1;
  }

  function renumber(fs, i) {
    fs.dataset.i = i;
    each(fs.querySelectorAll("[id],[name],[for]"), function (el) {
      ["id", "name", "for"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.replace(/^g\d+_/, "g" + i + "_"));
      });
    });
    fs.querySelector('button[value^="read_document_"]').value = "read_document_" + i;
    fs.querySelector("legend .n").textContent = i + 1;
    var lead = fs.querySelector("legend .lead");
    if (lead) lead.parentNode.removeChild(lead);
    fs.querySelector(".companion").hidden = false;
  }

  function addGuest() {
    var all = blocks(), n = all.length, last = all[n - 1];
    if (n >= max) return;
    var fs = last.cloneNode(true);
    renumber(fs, n);
    each(fs.querySelectorAll("input,textarea,select"), function (el) {
      if (el.type !== "hidden" || /_capture$/.test(el.name)) el.value = "";
    });
    each(fs.querySelectorAll(".error,.filled,video"), function (el) { el.parentNode.removeChild(el); });
    each(fs.querySelectorAll(".has-error"), function (el) { el.classList.remove("has-error"); });
    fs.querySelector("details").open = false;
    last.parentNode.insertBefore(fs, last.nextSibling);
    // A family or a group usually shares a nationality, and a family its
    // home: both are there to change.
    // (An address the guest before could not see, being foreign, is not.)
    ["nationality", "nationality_other", "address"].forEach(function (f) {
      if (!field(n - 1, f).disabled) field(n, f).value = field(n - 1, f).value;
    });
    wire(fs);
    sync();
  }

  function removeGuest() {
    var all = blocks();
    if (all.length > 1) all[all.length - 1].parentNode.removeChild(all[all.length - 1]);
    sync();
  }

  function setCount(n) {
    n = Math.max(1, Math.min(max, n | 0));
    while (blocks().length < n) addGuest();
    while (blocks().length > n) removeGuest();
  }

  // ---- reading a document -------------------------------------------------
  function docBox(fs) { return fs.querySelector("details.doc"); }

  function showDocError(fs, codes) {
    var box = docBox(fs);
    box.open = true;
    each(box.querySelectorAll(".error"), function (el) { el.parentNode.removeChild(el); });
    var at = box.querySelector(".actions");
    codes.forEach(function (code) {
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = docErrors[code] || docErrors[""] || code;
      at.parentNode.insertBefore(p, at);
    });
  }

  function apply(fs, doc) {
    var i = fs.dataset.i, g = doc.guest;
    ["full_name", "date_of_birth", "sex", "document_type", "document_number", "address", "document_expiry", "capture"]
      .forEach(function (f) { if (g[f] != null && field(i, f)) field(i, f).value = g[f]; });
    if (g.nationality) {
      var sel = field(i, "nationality");
      var listed = Array.prototype.some.call(sel.options, function (o) { return o.value === g.nationality; });
      sel.value = listed ? g.nationality : "";
      field(i, "nationality_other").value = listed ? "" : g.nationality;
    }
    fitNationality(fs);
    var box = docBox(fs);
    each(box.querySelectorAll(".error"), function (el) { el.parentNode.removeChild(el); });
    field(i, "doc").value = "";
    box.open = false;
    var note = fs.querySelector(".filled");
    if (!note) {
      note = document.createElement("p");
      note.className = "ok filled";
      note.setAttribute("role", "status");
      note.textContent = form.dataset.filled;
      box.parentNode.insertBefore(note, box.nextSibling);
    }
    save();
  }

  function ask(fs, url, body, type) {
    fetch(url, { method: "POST", body: body, headers: { "Content-Type": type }, credentials: "same-origin" })
      .then(function (res) {
        return res.json().then(function (answer) {
          if (res.ok) return apply(fs, answer);
          var codes = answer.codes && (answer.codes.text || answer.codes.photo);
          showDocError(fs, codes || [res.status === 429 ? "rate" : ""]);
        });
      })
      .catch(function () { showDocError(fs, [""]); });
  }

  function readText(fs) {
    var text = field(fs.dataset.i, "doc").value;
    ask(fs, "/api/v1/documents/parse", JSON.stringify({ text: text }), "application/json");
  }

  function scan(fs) {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      var video = document.createElement("video");
      video.setAttribute("playsinline", "");
      video.muted = true;
      video.srcObject = stream;
      docBox(fs).appendChild(video);
      video.play();
      var stop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        if (video.parentNode) video.parentNode.removeChild(video);
      };
      var tries = 0;
      (function look() {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stop();
            field(fs.dataset.i, "doc").value = codes[0].rawValue;
            readText(fs);
          } else if (++tries < 300) {
            setTimeout(look, 200);
          } else {
            stop();
          }
        }, function () { if (++tries < 300) setTimeout(look, 300); else stop(); });
      })();
    }, function () { /* no camera or refused: the photo and the text remain */ });
  }

  // A phone photo is large: scale it down before it crosses a slow network.
  function photo(fs, file) {
    createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) { ask(fs, "/api/v1/documents/photo", blob, "image/jpeg"); }, "image/jpeg", 0.85);
    }, function () { showDocError(fs, ["image_format"]); });
  }

  // ---- keeping what was typed ----------------------------------------------
  function skip(el) {
    return !el.name || el.type === "file" || el.type === "submit" || el.type === "button" ||
      /^(nonce|presence|action|want_count)$/.test(el.name) || /_doc$/.test(el.name);
  }

  function save() {
    var values = {};
    each(form.elements, function (el) {
      if (skip(el)) return;
      values[el.name] = el.type === "checkbox" ? el.checked : el.value;
    });
    try { localStorage.setItem(storeKey, JSON.stringify({ at: Date.now(), values: values })); } catch (e) { /* private mode */ }
  }

  function forget() { try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ } }

  function restore() {
    // A page the server answered with errors already holds the latest input.
    if (form.querySelector(".error")) return;
    var saved;
    try { saved = JSON.parse(localStorage.getItem(storeKey)); } catch (e) { return; }
    if (!saved || Date.now() - saved.at > 864e5) return;
    if (countInput) setCount(+saved.values.guest_count || 1);
    Object.keys(saved.values).forEach(function (name) {
      var el = form.elements[name];
      if (!el || el.length && !el.options) return;
      if (el.type === "checkbox") el.checked = saved.values[name] === true;
      else el.value = saved.values[name];
    });
    each(blocks(), fitNationality);
  }

  // ---- sending -------------------------------------------------------------
  var key = form.elements.nonce.value;
  var pending = null, timer = null, delay = 2000;

  function say(text) { if (net) { net.textContent = text; net.hidden = false; } }

  function send() {
    clearTimeout(timer);
    timer = null;
    say(form.dataset.sending);
    // Not form.action: the buttons named "action" shadow that property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: pending,
      headers: { "Idempotency-Key": key, "Content-Type": "application/x-www-form-urlencoded" },
      credentials: "same-origin"
    }).then(function (res) {
      if (res.status >= 502) throw new Error("unavailable");
      if (res.redirected) {
        forget();
        location.href = res.url;
        return;
      }
      return res.text().then(function (html) {
        if (res.ok) forget();
        pending = null;
        document.open();
        document.write(html);
        document.close();
      });
    }).catch(function () {
      // No answer: the same body with the same key, until one comes back.
      say(form.dataset.offline);
      timer = setTimeout(send, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  window.addEventListener("online", function () { if (pending && timer) send(); });

  form.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[name=action]");
    if (!b) return;
    var fs = b.closest("fieldset.guest");
    if (b.value === "add_guest") { e.preventDefault(); addGuest(); save(); }
    else if (b.value === "remove_guest") { e.preventDefault(); removeGuest(); save(); }
    else if (b.value === "set_count") { e.preventDefault(); setCount(+want.value); save(); }
    else if (fs && b.value.indexOf("read_document_") === 0) { e.preventDefault(); readText(fs); }
  });

  // Enter in the party's size sets it, as its button does; the form's
  // first button would check in the party as it is.
  if (want) want.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); setCount(+want.value); save(); }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!pending) {
      var data = new URLSearchParams();
      each(form.elements, function (el) {
        if (!el.name || el.disabled || el.type === "file" || el.type === "submit" || el.type === "button") return;
        if (el.type === "checkbox" && !el.checked) return;
        data.append(el.name, el.value);
      });
      data.set("action", "submit");
      pending = data.toString();
    }
    send();
  });

  // A site's province list is for Vietnamese visitors only.
  var province = document.getElementById("province");
  if (province) {
    var fitOrigin = function () {
      var vn = form.elements.origin_country.value === "VNM" && !form.elements.origin_country_other.value.trim();
      province.hidden = !vn;
      form.elements.origin_province.disabled = !vn;
    };
    form.addEventListener("change", fitOrigin);
    form.addEventListener("input", fitOrigin);
    fitOrigin();
  }

  form.addEventListener("input", save);
  form.addEventListener("change", save);
  each(blocks(), wire);
  restore();
})();
