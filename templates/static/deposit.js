// Sceau — deposit form enhancement: drop zone and upload progress.
// Without this script the form posts as a plain multipart form.
(function () {
  "use strict";
  // The page gives the messages in its language on the script tag
  // (data-msg-*); French when absent. {n}, {max} and {p} are filled in.
  var script = document.querySelector('script[src$="deposit.js"]');
  function msg(name, fallback, vars) {
    var s = (script && script.getAttribute("data-msg-" + name)) || fallback;
    for (var k in vars || {}) { s = s.split("{" + k + "}").join(vars[k]); }
    return s;
  }
  function enhance(form) {
    var input = form.querySelector('input[type=file][name=file]');
    if (!input || !window.FormData || !window.XMLHttpRequest) { return; }
    var status = document.createElement("p");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var zone = document.createElement("div");
    zone.className = "dropzone";
    zone.textContent = msg("zone", "Déposez vos fichiers ici, ou choisissez-les ci-dessus.");
    form.insertBefore(zone, form.querySelector("button"));
    form.appendChild(status);
    var dropped = null;
    function list(files) {
      var names = [];
      for (var i = 0; i < files.length; i++) { names.push(files[i].name); }
      status.textContent = names.length ? msg("ready", "{n} fichier(s) prêt(s) :", { n: names.length }) + " " + names.join(", ") : "";
    }
    input.addEventListener("change", function () { dropped = null; list(input.files); });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        dropped = e.dataTransfer.files;
        input.required = false;
        list(dropped);
        check(dropped);
      }
    });
    // Errors are said next to the file field, and read out.
    var error = document.createElement("span");
    error.className = "field-error";
    error.id = "deposit-error-" + (++counter);
    error.setAttribute("role", "alert");
    input.parentNode.insertBefore(error, input.nextSibling);
    var max = parseInt(form.getAttribute("data-max-files"), 10) || 0;
    function check(files) {
      var wrong = max && files && files.length > max;
      error.textContent = wrong ? msg("too-many", "Un dépôt compte au plus {max} fichiers : vous en avez choisi {n}. Déposez-les en plusieurs fois.", { max: max, n: files.length }) : "";
      if (wrong) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", error.id); } else { input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby"); }
      return !wrong;
    }
    input.addEventListener("change", function () { check(input.files); });
    form.addEventListener("submit", function (e) {
      var files = dropped || input.files;
      if (!files || !files.length) { return; } // let the browser say the field is required
      e.preventDefault();
      if (!check(files)) { input.focus(); return; }
      // Same order as the plain form: the kind, the files, then the copy
      // (attached by the server to the file just before it).
      var data = new FormData();
      data.append("kind", form.querySelector("[name=kind]").value);
      var bars = [], total = 0, i;
      for (i = 0; i < files.length; i++) {
        data.append("file", files[i], files[i].name);
        var label = document.createElement("label");
        label.className = "deposit-progress";
        label.textContent = files[i].name + " ";
        var bar = document.createElement("progress");
        bar.max = 100; bar.value = 0;
        label.appendChild(bar);
        form.appendChild(label);
        bars.push({ bar: bar, start: total, size: files[i].size });
        total += files[i].size;
      }
      var copy = form.querySelector("input[type=file][name=copie]");
      if (copy && copy.files.length) { data.append("copie", copy.files[0], copy.files[0].name); }
      var button = form.querySelector("button");
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.onprogress = function (ev) {
        if (!ev.lengthComputable) { return; }
        var sent = ev.loaded * total / ev.total; // the body also holds the framing
        bars.forEach(function (b) {
          b.bar.value = b.size ? Math.max(0, Math.min(100, (sent - b.start) * 100 / b.size)) : (sent >= b.start ? 100 : 0);
        });
        status.textContent = msg("progress", "Envoi : {p} %", { p: Math.round(ev.loaded * 100 / ev.total) });
      };
      xhr.onload = function () {
        // The answer is a full page (receipt or refusal): show it.
        status.textContent = msg("done", "Envoi terminé.");
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = function () {
        button.disabled = false;
        status.textContent = msg("failed", "L’envoi a échoué : vérifiez votre connexion et recommencez.");
      };
      status.textContent = msg("sending", "Envoi en cours…");
      xhr.send(data);
    });
  }
  var counter = 0;
  var forms = document.querySelectorAll("form.deposit");
  for (var i = 0; i < forms.length; i++) { enhance(forms[i]); }
}());
