// NoteLens web page: choose photos, submit a job to the API, follow it, show the result.
// Plain JavaScript, no build step. The result is rendered by the server (/web/jobs/ID/view).
"use strict";

(function () {
  const texts = JSON.parse(document.getElementById("texts").textContent);
  const say = (key, values) =>
    (texts[key] || key).replace(/\{(\w+)\}/g, (m, name) => (values && name in values ? values[name] : m));

  const form = document.getElementById("job-form");
  const drop = document.getElementById("drop");
  const filesInput = document.getElementById("files");
  const cameraInput = document.getElementById("camera");
  const chosenList = document.getElementById("chosen");
  const formError = document.getElementById("form-error");
  const submit = document.getElementById("submit");
  const progressCard = document.getElementById("progress");
  const bar = document.getElementById("bar");
  const statusLine = document.getElementById("status");
  const result = document.getElementById("result");
  const headers = { "X-NoteLens-Page": "1", "Accept-Language": document.documentElement.lang };
  let chosen = [];
  let watching = null;

  // --- choosing files -------------------------------------------------------------------
  function addFiles(list) {
    for (const file of list) chosen.push(file);
    showChosen();
  }

  function showChosen() {
    for (const img of chosenList.querySelectorAll("img")) URL.revokeObjectURL(img.src);
    chosenList.textContent = "";
    chosen.forEach((file, i) => {
      const li = document.createElement("li");
      if (file.type.startsWith("image/") && !/hei[cf]$/i.test(file.type)) {
        const img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        li.append(img);
      } else {
        const box = document.createElement("span");
        box.className = "file";
        box.textContent = file.name.split(".").pop().toUpperCase();
        li.append(box);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.title = say("web_remove_file");
      remove.setAttribute("aria-label", say("web_remove_file") + " " + file.name);
      remove.addEventListener("click", () => {
        chosen.splice(i, 1);
        showChosen();
      });
      li.append(remove);
      chosenList.append(li);
    });
    if (chosen.length) chosenList.setAttribute("aria-label", say("web_files_chosen", { n: chosen.length }));
  }

  filesInput.addEventListener("change", () => {
    addFiles(filesInput.files);
    filesInput.value = "";
  });
  cameraInput.addEventListener("change", () => {
    addFiles(cameraInput.files);
    cameraInput.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files) addFiles(event.dataTransfer.files);
  });

  // --- the task's own fields ------------------------------------------------------------
  function showTaskFields() {
    const task = form.elements.task.value;
    for (const el of form.querySelectorAll("[data-task]")) el.hidden = el.dataset.task !== task;
  }
  form.addEventListener("change", (event) => {
    if (event.target.name === "task") showTaskFields();
  });
  showTaskFields();

  // --- submitting -------------------------------------------------------------------------
  function fail(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) {
      /* not JSON */
    }
    return say("web_upload_failed", { status: response.status });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const task = form.elements.task.value;
    if (!chosen.length) return fail(say("web_need_files"));
    if (task === "ask" && !form.elements.question.value.trim()) return fail(say("web_need_question"));
    const data = new FormData();
    for (const file of chosen) data.append("files", file, file.name);
    data.append("task", task);
    data.append("language", form.elements.language.value);
    if (task === "classify" && form.elements.categories.value.trim()) {
      data.append("categories", form.elements.categories.value);
    }
    if (task === "ask") data.append("question", form.elements.question.value.trim());
    submit.disabled = true;
    try {
      const response = await fetch("/api/v1/jobs", {
        method: "POST", body: data, headers, credentials: "same-origin",
      });
      if (!response.ok) return fail(await errorText(response));
      const job = await response.json();
      chosen = [];
      showChosen();
      follow(job.id);
    } catch (e) {
      fail(say("web_connection_lost"));
    } finally {
      submit.disabled = false;
    }
  });

  // --- following a job --------------------------------------------------------------------
  function showProgress(event) {
    progressCard.hidden = false;
    const p = event.progress || { done: 0, total: 0 };
    if (event.status === "queued") {
      bar.removeAttribute("value");
      statusLine.textContent = say("web_queued");
    } else if (event.status === "running") {
      if (p.total) {
        bar.max = p.total;
        bar.value = p.done;
        statusLine.textContent = say("web_running_pages", { done: p.done, total: p.total });
      } else {
        bar.removeAttribute("value");
        statusLine.textContent = say("web_running");
      }
    } else {
      bar.max = 1;
      bar.value = 1;
      statusLine.textContent = say("web_done");
    }
  }

  function setJobInUrl(id) {
    const url = new URL(window.location.href);
    url.searchParams.set("job", id);
    window.history.replaceState(null, "", url);
    for (const a of document.querySelectorAll(".langs a")) {
      const link = new URL(a.href);
      link.searchParams.set("job", id);
      a.href = link.pathname + link.search;
    }
  }

  function follow(id) {
    if (watching) watching.close();
    setJobInUrl(id);
    result.textContent = "";
    showProgress({ status: "queued" });
    const finished = (event) => {
      if (watching) watching.close();
      watching = null;
      showProgress(event);
      showResult(id);
    };
    if (!window.EventSource) return poll(id, finished);
    const source = new EventSource("/api/v1/jobs/" + encodeURIComponent(id) + "/events");
    watching = source;
    const onEvent = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (event.status === "done" || event.status === "failed") finished(event);
      else showProgress(event);
    };
    source.addEventListener("progress", onEvent);
    source.addEventListener("done", onEvent);
    source.addEventListener("message", onEvent);
    source.addEventListener("error", () => {
      // The stream ended or broke: ask once how the job is, then keep polling if needed.
      if (watching !== source) return;
      source.close();
      watching = null;
      poll(id, finished);
    });
  }

  async function poll(id, finished) {
    for (let attempt = 0; attempt < 3600; attempt++) {
      try {
        const response = await fetch("/api/v1/jobs/" + encodeURIComponent(id), { headers, credentials: "same-origin" });
        if (response.status === 404) return finished({ status: "failed" });
        if (response.ok) {
          const job = await response.json();
          if (job.status === "done" || job.status === "failed") return finished(job);
          showProgress(job);
        }
      } catch (e) {
        statusLine.textContent = say("web_connection_lost");
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async function showResult(id) {
    try {
      const response = await fetch("/web/jobs/" + encodeURIComponent(id) + "/view", { credentials: "same-origin" });
      result.innerHTML = await response.text(); // rendered and escaped by the server
      progressCard.hidden = response.ok;
      if (!response.ok) statusLine.textContent = "";
      refreshJobs();
    } catch (e) {
      statusLine.textContent = say("web_connection_lost");
    }
  }

  async function refreshJobs() {
    // The list of recent jobs now holds this one too: take it from a fresh copy of the page.
    const response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const list = fresh.getElementById("jobs");
    if (list) document.getElementById("jobs").replaceWith(document.adoptNode(list));
  }

  const start = new URL(window.location.href).searchParams.get("job");
  if (start) follow(start);
})();
