// Retrieval counter: copy the password, and send the collection form once
// (the server also joins a double click to the first one).
(function () {
  'use strict';
  document.querySelectorAll('button[data-copy]').forEach(function (b) {
    b.addEventListener('click', function () {
      var el = document.getElementById(b.getAttribute('data-copy'));
      var done = document.getElementById('copied');
      var text = el ? el.textContent.trim() : '';
      var ok = function () { if (done) { done.textContent = b.getAttribute('data-done') || 'Mot de passe copié.'; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(ok, function () {});
      } else {
        var r = document.createRange(); r.selectNodeContents(el);
        var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
        try { document.execCommand('copy'); ok(); } catch (e) {}
      }
    });
  });
  document.querySelectorAll('form[data-once]').forEach(function (f) {
    f.addEventListener('submit', function () {
      var b = f.querySelector('button[type=submit]');
      var busy = f.getAttribute('data-busy') || 'Préparation du certificat…';
      if (b) { setTimeout(function () { b.disabled = true; b.textContent = busy; }, 0); }
    });
  });
})();
