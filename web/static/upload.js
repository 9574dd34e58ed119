// zhikong: the upload page. Each file is sent on its own request, with a progress bar and its result.
// Without this script the form still works (one post, a list of results).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var drop = document.getElementById("drop");
  var queue = document.getElementById("queue");
  var picked = [];

  function add(files) {
    for (var i = 0; i < files.length; i++) {
      var f = files[i];
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = f.webkitRelativePath || f.name;
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      var said = document.createElement("span");
      said.className = "said";
      said.textContent = "待上传（" + Math.max(1, Math.round(f.size / 1024)) + " KB）";
      li.appendChild(name); li.appendChild(bar); li.appendChild(said);
      queue.appendChild(li);
      picked.push({ file: f, li: li, bar: bar, said: said });
    }
  }

  function walk(entry, done) {  // a dropped folder: every file inside it
    if (entry.isFile) { entry.file(function (f) { done([f]); }, function () { done([]); }); return; }
    var reader = entry.createReader(), all = [];
    (function more() {
      reader.readEntries(function (entries) {
        if (!entries.length) {
          var out = [], left = all.length;
          if (!left) { done(out); return; }
          all.forEach(function (e) { walk(e, function (fs) { out = out.concat(fs); if (--left === 0) { done(out); } }); });
          return;
        }
        all = all.concat(Array.prototype.slice.call(entries)); more();
      }, function () { done([]); });
    })();
  }

  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    var items = e.dataTransfer.items;
    if (items && items.length && items[0].webkitGetAsEntry) {
      for (var i = 0; i < items.length; i++) {
        var entry = items[i].webkitGetAsEntry();
        if (entry) { walk(entry, add); }
      }
    } else {
      add(e.dataTransfer.files);
    }
  });
  document.getElementById("files").addEventListener("change", function (e) { add(e.target.files); e.target.value = ""; });
  document.getElementById("folder").addEventListener("change", function (e) { add(e.target.files); e.target.value = ""; });

  function send(item, next) {
    var data = new FormData(form);
    data.delete("files");
    data.append("files", item.file, item.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { item.bar.value = Math.round(e.loaded * 100 / e.total); item.said.textContent = "上传中 " + item.bar.value + "%"; }
    };
    xhr.upload.onload = function () { item.said.textContent = "已上传，正在登记和读取文字……"; };
    xhr.onload = function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
      var r = answer && answer.results && answer.results[0];
      item.bar.value = 100;
      if (r && r.ok) {
        item.li.className = "ok";
        item.said.textContent = "";
        var a = document.createElement("a");
        a.href = "/records/" + r.record_id + "/";
        a.textContent = r.outcome + "（第 " + r.version + " 版）";
        item.said.appendChild(a);
        item.said.appendChild(document.createTextNode("，归为“" + r.category + "”（" + r.why + "）；" + r.read + "。"));
      } else {
        item.li.className = "error";
        item.said.textContent = r ? r.error : "上传失败（服务器答复 " + xhr.status + "），请重试。";
      }
      next();
    };
    xhr.onerror = function () { item.li.className = "error"; item.said.textContent = "网络中断，没有上传完；请重试。"; next(); };
    xhr.send(data);
  }

  form.addEventListener("submit", function (e) {
    if (!picked.length) { return; }  // nothing queued: the plain form post (and its message)
    e.preventDefault();
    var todo = picked.slice();
    picked = [];
    document.getElementById("send").disabled = true;
    (function next() {
      var item = todo.shift();
      if (item) { send(item, next); } else { document.getElementById("send").disabled = false; }
    })();
  });
})();
