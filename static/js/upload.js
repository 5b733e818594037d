/* The browser uploader: progressive enhancement of every form[data-uploader].
 *
 * Without this script the form posts its `files` input as multipart and the server redirects back.
 * With it, each chosen or dropped file is sent on its own (at most three at a time) as the raw
 * request body, its name URL-encoded in X-File-Name, and gets a row with a progress bar and a
 * status text. The server answers 201 (with a `message` to show when the file was stored under
 * another name) or a JSON {ok: false, error} that is shown as is. When every
 * file is finished and at least one was stored, the page reloads to show them in the list; the rows
 * are kept in sessionStorage across that reload, so a refused file's message stays on screen.
 *
 * The form supplies: action (the upload URL), data-max-bytes (the server's limit, checked here
 * first so a too large file is never sent) and the translated texts as data-msg-* attributes.
 */
(function () {
  "use strict";

  var PARALLEL = 3;
  var STORE_PREFIX = "portal-uploader:";
  var rowCount = 0;

  function hasFiles(event) {
    var types = event.dataTransfer ? event.dataTransfer.types : null;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null; // Blocked storage (private modes): the rows are just not kept across the reload.
    }
  }

  function Uploader(form) {
    this.form = form;
    this.url = form.getAttribute("action");
    this.input = form.querySelector('input[type="file"]');
    this.zone = form.querySelector(".drop-zone") || form;
    this.list = form.querySelector(".upload-list");
    var token = form.querySelector('input[name="csrfmiddlewaretoken"]');
    this.csrfToken = token ? token.value : "";
    this.queue = [];
    this.active = 0;
    this.results = [];
    this.dragDepth = 0;
  }

  Uploader.prototype.maxBytes = function () {
    var limit = parseInt(this.form.getAttribute("data-max-bytes") || "", 10);
    return limit > 0 ? limit : Infinity;
  };

  Uploader.prototype.message = function (name, fallback) {
    return this.form.getAttribute("data-msg-" + name) || fallback;
  };

  Uploader.prototype.start = function () {
    var self = this;
    if (!this.input || !this.url) {
      return;
    }
    if (!this.list) {
      this.list = document.createElement("ul");
      this.list.className = "upload-list";
      this.list.setAttribute("aria-live", "polite");
      this.form.appendChild(this.list);
    }
    this.form.classList.add("is-enhanced");
    this.restore();

    this.input.addEventListener("change", function () {
      self.add(self.input.files);
      self.input.value = "";
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.add(self.input.files);
      self.input.value = "";
    });
    this.form.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      event.preventDefault();
      self.dragDepth += 1;
      self.zone.classList.add("is-dragging");
    });
    this.form.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    this.form.addEventListener("dragleave", function () {
      self.dragDepth = Math.max(0, self.dragDepth - 1);
      if (self.dragDepth === 0) {
        self.zone.classList.remove("is-dragging");
      }
    });
    this.form.addEventListener("drop", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      self.dragDepth = 0;
      self.zone.classList.remove("is-dragging");
      self.add(event.dataTransfer.files);
    });
  };

  Uploader.prototype.makeRow = function (name) {
    rowCount += 1;
    var row = document.createElement("li");
    row.className = "upload-row";
    var label = document.createElement("span");
    label.className = "upload-name";
    label.id = "upload-file-" + rowCount;
    label.textContent = name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-labelledby", label.id);
    var status = document.createElement("span");
    status.className = "upload-status";
    row.appendChild(label);
    row.appendChild(bar);
    row.appendChild(status);
    this.list.appendChild(row);
    return { row: row, bar: bar, status: status, name: name };
  };

  Uploader.prototype.add = function (files) {
    if (!files) {
      return;
    }
    var maxBytes = this.maxBytes();
    for (var i = 0; i < files.length; i += 1) {
      var file = files[i];
      var item = this.makeRow(file.name);
      item.file = file;
      if (file.size > maxBytes) {
        this.finish(item, false, this.message("too-large", "The file is too large."));
        continue;
      }
      item.status.textContent = this.message("waiting", "Waiting");
      this.queue.push(item);
    }
    this.pump();
    this.afterAll(); // Every file refused here: nothing is running, nothing to reload for.
  };

  Uploader.prototype.pump = function () {
    while (this.active < PARALLEL && this.queue.length > 0) {
      this.send(this.queue.shift());
    }
  };

  Uploader.prototype.send = function (item) {
    var self = this;
    var xhr = new XMLHttpRequest();
    this.active += 1;
    item.status.textContent = this.message("uploading", "Uploading");
    xhr.open("POST", this.url);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(item.file.name));
    xhr.setRequestHeader("X-CSRFToken", this.csrfToken);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable && event.total > 0) {
        item.bar.value = Math.round((event.loaded / event.total) * 100);
      }
    };
    xhr.onload = function () {
      if (xhr.status === 201) {
        var note = "";
        try {
          note = JSON.parse(xhr.responseText).message || ""; // e.g. stored under another name
        } catch (parseError) {
          note = "";
        }
        self.finish(item, true, note || self.message("done", "Uploaded"));
        return;
      }
      var error = "";
      try {
        error = JSON.parse(xhr.responseText).error || "";
      } catch (parseError) {
        error = ""; // Not our JSON (a proxy's page, the 403 page): say it generally.
      }
      if (!error && xhr.status === 403) {
        error = self.message("forbidden", "");
      } else if (!error && xhr.status >= 500) {
        error = self.message("server", "");
      }
      self.finish(item, false, error || self.message("failed", "The upload failed."));
    };
    xhr.onerror = function () {
      self.finish(item, false, self.message("failed", "The upload failed."));
    };
    xhr.onabort = xhr.onerror;
    xhr.onloadend = function () {
      self.active -= 1;
      self.pump();
      self.afterAll();
    };
    xhr.send(item.file);
  };

  Uploader.prototype.finish = function (item, ok, text) {
    item.row.classList.add(ok ? "is-done" : "is-error");
    if (ok) {
      item.bar.value = 100;
    }
    item.status.textContent = text;
    this.results.push({ name: item.name, ok: ok, text: text });
  };

  Uploader.prototype.afterAll = function () {
    if (this.active > 0 || this.queue.length > 0) {
      return;
    }
    var stored = this.results.some(function (result) {
      return result.ok;
    });
    if (!stored) {
      return;
    }
    var store = storage();
    if (store) {
      try {
        store.setItem(STORE_PREFIX + this.url, JSON.stringify(this.results));
      } catch (error) {
        // Full or blocked storage: reload anyway, the files are in the list.
      }
    }
    this.results = [];
    this.form.setAttribute("aria-busy", "true");
    var note = document.createElement("li");
    note.className = "upload-row";
    note.textContent = this.message("reloading", "Updating the list of files");
    this.list.appendChild(note);
    window.location.reload();
  };

  Uploader.prototype.restore = function () {
    var store = storage();
    if (!store) {
      return;
    }
    var key = STORE_PREFIX + this.url;
    var saved = store.getItem(key);
    store.removeItem(key);
    if (!saved) {
      return;
    }
    var results;
    try {
      results = JSON.parse(saved);
    } catch (error) {
      return;
    }
    for (var i = 0; i < results.length; i += 1) {
      var item = this.makeRow(String(results[i].name));
      item.row.classList.add(results[i].ok ? "is-done" : "is-error");
      item.bar.value = results[i].ok ? 100 : 0;
      item.status.textContent = String(results[i].text);
    }
  };

  function enhanceAll() {
    var forms = document.querySelectorAll("form[data-uploader]");
    if (forms.length === 0) {
      return;
    }
    for (var i = 0; i < forms.length; i += 1) {
      new Uploader(forms[i]).start();
    }
    // A file dropped beside the drop zone would make the browser leave the page to show it.
    document.addEventListener("dragover", function (event) {
      var target = event.target;
      if (target && target.closest && target.closest("form[data-uploader]")) {
        return; // The form's own handler said "copy".
      }
      if (hasFiles(event)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "none";
      }
    });
    document.addEventListener("drop", function (event) {
      if (hasFiles(event)) {
        event.preventDefault();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhanceAll);
  } else {
    enhanceAll();
  }
})();
