// Égide console: the only script, and an enhancement: every page works without it.
// Upload progress: the upload form is sent with XMLHttpRequest (whose upload events
// report progress), then the browser follows to the page the server answered with.
"use strict";
(function () {
  function enhanceUpload(form) {
    var bar = form.querySelector("[data-progress]");
    var text = form.querySelector("[data-progress-text]");
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      event.preventDefault();
      var data = new FormData(form);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-CSRF-Token", data.get("csrf"));
      bar.hidden = false;
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var percent = Math.round((e.loaded / e.total) * 100);
          bar.value = percent;
          text.textContent = percent + " %";
        }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);
        } else {
          // A refusal: show the console's own error page the server rendered.
          document.open();
          document.write(request.responseText);
          document.close();
        }
      });
      request.addEventListener("error", function () { form.submit(); });
      form.querySelector("button[type=submit]").disabled = true;
      request.send(data);
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(enhanceUpload);
})();
