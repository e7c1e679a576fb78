// Égide console: the only script, and an enhancement: every page works without it.
// Upload progress: the upload form is sent with XMLHttpRequest (whose upload events
// report progress), then the browser follows to the page the server answered with.
// Ask: answers streamed as Server-Sent Events read from fetch (see enhanceAsk below).
// Alerts: a live feed of Server-Sent Events read with EventSource (see enhanceAlerts).
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

  // Ask: the form is posted with fetch to its data-stream address, whose answer is a
  // stream of Server-Sent Events (see egide/console/pages/ask.py). The answer's text is
  // shown as it arrives; then the server's own rendering of the turn (markings,
  // citations) replaces it and the banners rise to the page's new high-water mark.
  // Without fetch streams the form posts normally and the server renders the page.
  function events(text) {
    var found = [];
    text.split("\n\n").forEach(function (block) {
      var name = "message", data = "";
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event: ") === 0) { name = line.slice(7); }
        if (line.indexOf("data: ") === 0) { data += line.slice(6); }
      });
      if (data) { found.push({ name: name, data: JSON.parse(data) }); }
    });
    return found;
  }

  function raiseBanners(marking, level) {
    document.querySelectorAll("[data-banner]").forEach(function (banner) {
      banner.textContent = marking;
      banner.className = "banner " + level;
    });
    var rest = document.title.indexOf(" — ");
    document.title = marking + (rest >= 0 ? document.title.slice(rest) : "");
  }

  function enhanceAsk(form) {
    var turns = document.querySelector("[data-turns]");
    var status = form.querySelector("[data-ask-status]");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.TextDecoder || !window.ReadableStream) { return; }
      event.preventDefault();
      var data = new FormData(form);
      var live = document.createElement("article");
      live.className = "turn streaming";
      var asked = document.createElement("div");
      asked.className = "question";
      asked.textContent = data.get("question");
      var answer = document.createElement("div");
      answer.className = "answer";
      var text = document.createElement("div");
      text.className = "text";
      answer.appendChild(text);
      live.appendChild(asked);
      live.appendChild(answer);
      turns.appendChild(live);
      button.disabled = true;
      status.textContent = status.getAttribute("data-pending");
      var answered = false;
      fetch(form.getAttribute("data-stream"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": data.get("csrf") }
      }).then(function (response) {
        answered = true;
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("text/event-stream") !== 0) {
          // A refusal: show the console's own error page the server rendered.
          return response.text().then(function (page) {
            document.open(); document.write(page); document.close();
          });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function handle(e) {
          if (e.name === "meta") {
            var field = form.querySelector("[data-conversation]");
            if (!field) {
              field = document.createElement("input");
              field.type = "hidden"; field.name = "conversation";
              field.setAttribute("data-conversation", "");
              form.appendChild(field);
              var choose = form.querySelector("[data-choose]");
              if (choose) { choose.remove(); }
            }
            field.value = e.data.conversation;
            window.history.replaceState(null, "", e.data.url);
          } else if (e.name === "delta") {
            text.textContent += e.data.text;
          } else if (e.name === "turn") {
            var holder = document.createElement("div");
            holder.innerHTML = e.data.html;
            live.replaceWith(holder.firstElementChild);
            var marking = document.querySelector("[data-conversation-marking]");
            if (marking) {
              marking.innerHTML = e.data.conversation_marking;
              marking.parentElement.hidden = false;
            }
          } else if (e.name === "label") {
            raiseBanners(e.data.marking, e.data.level);
          } else if (e.name === "done") {
            status.textContent = "";
            button.disabled = false;
            form.querySelector("textarea").value = "";
          }
        }
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { return; }
            buffer += decoder.decode(chunk.value, { stream: true });
            var end = buffer.lastIndexOf("\n\n");
            if (end >= 0) {
              events(buffer.slice(0, end)).forEach(handle);
              buffer = buffer.slice(end + 2);
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () {
        // Nothing came back: ask the plain way. A stream cut midway is not asked again
        // (the turn is kept): reloading the page shows it.
        if (!answered) { form.submit(); } else { window.location.reload(); }
      });
    });
  }
  document.querySelectorAll("form[data-ask]").forEach(enhanceAsk);
  // Alerts: the live feed (see egide/console/pages/alerts.py). Each `alert` event carries
  // the server's rendering of the alert (its marking included) and the page's new
  // high-water mark; the banners follow it. After an error the script asks whether the
  // session is still valid: if not, the feed stops and says so; if so (or the server
  // cannot be reached), it reconnects after a growing delay, from the last alert shown.
  function enhanceAlerts(list) {
    if (!window.EventSource) { return; }
    var status = document.querySelector("[data-feed-status]");
    var empty = document.querySelector("[data-feed-empty]");
    var highHolder = document.querySelector("[data-page-high]");
    var kept = parseInt(list.getAttribute("data-kept"), 10) || 200;
    var after = list.getAttribute("data-after") || "";
    var delay = 1000;
    var source = null;
    var stopped = false;
    function say(key) { status.textContent = status.getAttribute("data-" + key); }
    function stop(data) {
      stopped = true;
      if (source) { source.close(); }
      status.textContent = data.message || status.getAttribute("data-stopped");
      var link = document.createElement("a");
      link.href = data.signin || "/signin?next=/alerts";
      link.textContent = status.getAttribute("data-signin");
      status.appendChild(document.createTextNode(" "));
      status.appendChild(link);
      status.setAttribute("data-state", "stopped");
    }
    function connect() {
      if (stopped) { return; }
      var url = list.getAttribute("data-stream") + "?after=" + encodeURIComponent(after) +
        "&high=" + encodeURIComponent(highHolder ? highHolder.getAttribute("data-page-high") : "");
      source = new EventSource(url);
      source.addEventListener("open", function () {
        delay = 1000;
        say("live");
        status.setAttribute("data-state", "live");
      });
      source.addEventListener("alert", function (message) {
        var e = JSON.parse(message.data);
        after = message.lastEventId || after;
        if (list.querySelector("[data-alert='" + e.id + "']")) { return; }
        var holder = document.createElement("ol");
        holder.innerHTML = e.html;
        list.insertBefore(holder.firstElementChild, list.firstChild);
        while (list.children.length > kept) { list.removeChild(list.lastElementChild); }
        if (empty) { empty.hidden = true; }
        raiseBanners(e.marking, e.level);
        if (highHolder) { highHolder.setAttribute("data-page-high", e.high); }
      });
      source.addEventListener("expired", function (message) { stop(JSON.parse(message.data)); });
      source.addEventListener("changed", function () {
        source.close();
        window.location.reload();
      });
      source.addEventListener("error", function () {
        source.close();
        if (stopped) { return; }
        say("reconnecting");
        status.setAttribute("data-state", "reconnecting");
        fetch(list.getAttribute("data-session"), {
          credentials: "same-origin", redirect: "manual", cache: "no-store"
        }).then(function (response) {
          if (response.status === 204 || response.status >= 500) { retry(); } else { stop({}); }
        }).catch(retry);
      });
    }
    function retry() {
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    }
    connect();
  }
  document.querySelectorAll("[data-alerts]").forEach(enhanceAlerts);
})();
