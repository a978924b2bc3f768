// c360 app: what both pages share. Every value reaches the page through textContent (never innerHTML),
// so text from the data or the search box cannot become markup.
"use strict";

const C360 = {};

C360.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

C360.raw = (value) => (value === null || value === undefined ? "" : Array.isArray(value) ? value.join(", ") : String(value));
C360.money = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}));
C360.percent = (value) => (value === null || value === undefined ? "—" : (100 * Number(value)).toFixed(1) + "%");
C360.number = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US", {maximumFractionDigits: 1}));
C360.text = (value) => (value === null || value === undefined || value === "" ? "—" : Array.isArray(value) ? value.join(", ") : String(value));

C360.params = function (extra) {
  const query = new URLSearchParams(extra || {});
  const asOf = document.getElementById("as-of");
  // before the config arrives the field is empty: the address's ?as_of= (if any) is the page's date
  const value = (asOf && asOf.value) || new URLSearchParams(location.search).get("as_of");
  if (value) query.set("as_of", value);
  return query.toString();
};

// A panel: <section class="panel" id="panel-NAME"> with .status, .body, .errors and the SQL details.
C360.panel = function (name) {
  const section = document.getElementById("panel-" + name);
  return {
    section,
    body: section.querySelector(".body"),
    loading() {
      section.classList.add("loading");
      section.dataset.state = "loading";
      section.querySelector(".status").replaceChildren(C360.el("span", {class: "spinner"}), " loading…");
    },
    done(answer) {
      section.classList.remove("loading");
      section.dataset.state = answer.error ? "error" : "ready";
      const status = answer.error ? "failed" : `${answer.seconds !== undefined ? (answer.seconds * 1000).toFixed(0) + " ms" : ""}`;
      section.querySelector(".status").textContent = status;
      const errors = section.querySelector(".errors");
      errors.replaceChildren();
      if (answer.error) errors.append(C360.el("div", {class: "error", role: "alert", text: answer.error}));
      C360.showSql(section, answer);
    },
  };
};

C360.showSql = function (section, answer) {
  let details = section.querySelector("details.sql");
  if (!details) {
    details = C360.el("details", {class: "sql"});
    section.append(details);
  }
  const rows = (answer.sources || []).map((s) => C360.el("tr", {},
    C360.el("td", {text: s.source + "." + s.table}), C360.el("td", {class: "num", text: s.rows}),
    C360.el("td", {class: "num", text: (s.seconds * 1000).toFixed(1) + " ms"}),
    C360.el("td", {}, C360.el("code", {text: s.sent}),
      (s.notes || []).length ? C360.el("div", {class: "muted", text: s.notes.join("; ")}) : null)));
  details.replaceChildren(...[
    C360.el("summary", {text: "SQL and timings"}),
    C360.el("div", {class: "muted", text: "Per source: what was sent, rows back and time (as EXPLAIN ANALYZE reports); " +
      "below each, what stayed local and why."}),
    C360.el("pre", {class: "sql-text", text: answer.sql || ""}),
    C360.el("div", {class: "muted", text: "parameters: " + JSON.stringify(answer.params === undefined ? null : answer.params)}),
    answer.cached ? C360.el("div", {class: "muted", "data-cached": "1", text: "answered from the app's answers of the " +
      "same copies (read only from accelerated copies, unchanged since): the timings below are of the run that read them"}) : null,
    C360.el("div", {class: "scroll"}, C360.el("table", {class: "timings"},
      C360.el("tr", {}, C360.el("th", {text: "source"}), C360.el("th", {class: "num", text: "rows"}),
        C360.el("th", {class: "num", text: "time"}), C360.el("th", {text: "sent"})), rows))].filter((node) => node !== null));
};

C360.load = async function (name, url, render) {
  C360.panel(name).loading();
  let answer;
  try {
    const response = await fetch(url);
    answer = await response.json();
    if (!response.ok && !answer.error) answer.error = `HTTP ${response.status}`;
  } catch (error) {
    answer = {error: String(error)};
  }
  return C360.show(name, answer, render);
};

// Draw one panel's answer (or its error) with render(body, answer).
C360.show = function (name, answer, render) {
  const panel = C360.panel(name);
  panel.body.replaceChildren();
  if (!answer.error) {
    try {
      render(panel.body, answer);
    } catch (error) {
      answer.error = "could not show this panel: " + error;
    }
  }
  panel.done(answer);
  return answer;
};

// Several panels from one request whose answer is one JSON line per panel ({"panel": name, ...}), each drawn as
// its line arrives; renders maps panel names to render functions. response is the fetch's promise; current()
// says whether the page still wants these panels (a newer request replaced this one: its lines are dropped).
C360.arrived = {};
C360.stream = async function (response, renders, current) {
  C360.arrived = {};
  const pending = new Set(Object.keys(renders));
  for (const name of pending) C360.panel(name).loading();
  let failure = "no answer for this panel";
  try {
    const answer = await response;
    if (!answer.ok) throw new Error(`HTTP ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
    const reader = answer.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (!line.trim() || !current()) continue;
        const one = JSON.parse(line);
        if (!pending.delete(one.panel)) continue;
        C360.arrived[one.panel] = performance.now();  // ms since navigation (the latency benchmark reads it)
        C360.show(one.panel, one, renders[one.panel]);
      }
    }
  } catch (error) {
    failure = String(error);
  }
  if (current()) for (const name of pending) C360.show(name, {error: failure}, renders[name]);
};

// <dl> of fields; each <dd> carries data-field and data-value (the raw value) for people and tests.
C360.fields = function (pairs) {
  return C360.el("dl", {}, pairs.flatMap(([label, field, value, shown]) => [
    C360.el("dt", {text: label}),
    C360.el("dd", {"data-field": field, "data-value": C360.raw(value), text: shown === undefined ? C360.text(value) : shown}),
  ]));
};

C360.charts = {};
C360.chart = function (holder, key, config) {
  if (C360.charts[key]) C360.charts[key].destroy();
  const canvas = C360.el("canvas", {});
  holder.append(C360.el("div", {class: "chart"}, canvas));
  if (typeof Chart === "undefined") return null;
  config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false,
    plugins: {legend: {display: false}}}, config.options || {});
  C360.charts[key] = new Chart(canvas, config);
  return C360.charts[key];
};

C360.header = async function () {
  const response = await fetch("/api/config");
  C360.config = await response.json();
  const asOf = document.getElementById("as-of");
  const asked = new URLSearchParams(location.search).get("as_of");
  asOf.value = asked || C360.config.as_of;
  return C360.config;
};
