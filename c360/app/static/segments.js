// The marketer's page: every panel from its own JSON endpoint.
"use strict";

const el = C360.el;

function api(path, extra) {
  return path + "?" + C360.params(extra);
}

function summary(body, answer) {
  C360.chart(body, "summary", {type: "bar", data: {labels: answer.rows.map((r) => r.segment), datasets: [
    {label: "revenue", data: answer.rows.map((r) => r.revenue), backgroundColor: "#2563eb", yAxisID: "y"},
    {label: "customers", data: answer.rows.map((r) => r.customers), backgroundColor: "#94a3b8", yAxisID: "y2"}]},
    options: {plugins: {legend: {display: true}}, scales: {y: {position: "left", title: {display: true, text: "revenue"}},
      y2: {position: "right", grid: {drawOnChartArea: false}, title: {display: true, text: "customers"}}}}});
  body.append(el("div", {class: "scroll"}, el("table", {id: "summary-table"},
    el("tr", {}, el("th", {text: "segment"}), el("th", {class: "num", text: "customers"}), el("th", {class: "num", text: "revenue"})),
    answer.rows.map((r) => el("tr", {"data-segment": r.segment}, el("td", {text: r.segment}),
      el("td", {class: "num", "data-field": "customers", "data-value": C360.raw(r.customers), text: r.customers}),
      el("td", {class: "num", "data-field": "revenue", "data-value": C360.raw(r.revenue), text: C360.money(r.revenue)}))))));
}

function heatmap(body, answer) {
  const segments = [...new Set(answer.rows.map((r) => r.segment))];
  const categories = [...new Set(answer.rows.map((r) => C360.text(r.predicted_category)))];
  const count = new Map(answer.rows.map((r) => [r.segment + "\u0000" + C360.text(r.predicted_category), r.customers]));
  const top = Math.max(1, ...answer.rows.map((r) => r.customers));
  body.append(el("div", {class: "scroll"}, el("table", {class: "heat", id: "heatmap-table"},
    el("tr", {}, el("th", {text: "segment"}), categories.map((c) => el("th", {text: c}))),
    segments.map((s) => el("tr", {"data-segment": s}, el("td", {text: s}), categories.map((c) => {
      const n = count.get(s + "\u0000" + c) || 0;
      const alpha = (0.08 + 0.8 * n / top).toFixed(2);
      return el("td", {class: "cell", "data-category": c, "data-value": n, text: n,
        style: `background: rgba(37, 99, 235, ${alpha}); color: ${n / top > 0.55 ? "#fff" : "inherit"}`});
    }))))));
  body.append(el("p", {class: "muted", text: "Customers per cell: the upsell map (who is likely to buy what next)."}));
}

function movement(body, answer) {
  body.append(el("p", {class: "muted", text: `Segment on ${answer.from} → segment on ${answer.to}`}));
  const moved = answer.rows.filter((r) => r.from !== r.to);
  const stayed = answer.rows.filter((r) => r.from === r.to).reduce((n, r) => n + r.customers, 0);
  body.append(el("p", {}, el("strong", {id: "movement-stayed", text: stayed}), " customers stayed in their segment; ",
    el("strong", {text: moved.reduce((n, r) => n + r.customers, 0)}), " moved."));
  body.append(el("div", {class: "scroll"}, el("table", {id: "movement-table"},
    el("tr", {}, el("th", {text: "from"}), el("th", {text: "to"}), el("th", {class: "num", text: "customers"})),
    moved.slice(0, 25).map((r) => el("tr", {"data-from": r.from, "data-to": r.to}, el("td", {text: r.from}),
      el("td", {text: r.to}), el("td", {class: "num", "data-value": r.customers, text: r.customers}))))));
}

function topCustomers(body, answer) {
  if (!answer.rows.length) { body.append(el("p", {class: "muted", text: "No customer in this segment."})); return; }
  body.append(el("div", {class: "scroll"}, el("table", {id: "top-table"},
    el("tr", {}, ["customer", "name", "email", "P(purchase 30 d)", "predicted", "net spend 365 d"].map((h) => el("th", {text: h}))),
    answer.rows.map((r) => el("tr", {"data-customer-id": r.customer_id},
      el("td", {}, el("a", {href: "/customer?id=" + encodeURIComponent(r.customer_id), text: r.customer_id})),
      el("td", {text: `${r.first_name || ""} ${r.last_name || ""}`.trim()}), el("td", {text: C360.text(r.email)}),
      el("td", {class: "num", "data-value": C360.raw(r.p_purchase_30d), text: C360.percent(r.p_purchase_30d)}),
      el("td", {text: C360.text(r.predicted_category)}), el("td", {class: "num", text: C360.money(r.monetary)}))))));
}

function loadTop() {
  const segment = document.getElementById("top-segment").value;
  document.getElementById("top-csv").href = api("/api/segments/top.csv", {segment, limit: 1000});
  C360.load("top", api("/api/segments/top", {segment, limit: 50}), topCustomers);
}

function loadMovement() {
  C360.load("movement", api("/api/segments/movement", {from: document.getElementById("move-from").value,
    to: document.getElementById("move-to").value}), movement);
}

function loadAll() {
  C360.load("summary", api("/api/segments"), summary);
  C360.load("heatmap", api("/api/segments/heatmap"), heatmap);
  loadMovement();
  loadTop();
}

document.addEventListener("DOMContentLoaded", async () => {
  const config = await C360.header();
  const asOf = document.getElementById("as-of").value;
  const back = new Date(asOf + "T00:00:00Z");
  back.setUTCDate(back.getUTCDate() - 30);
  document.getElementById("move-to").value = asOf;
  document.getElementById("move-from").value = back.toISOString().slice(0, 10);
  const select = document.getElementById("top-segment");
  const asked = new URLSearchParams(location.search).get("segment");
  for (const s of config.segments) select.append(el("option", {value: s, text: s, selected: s === asked ? "" : null}));
  select.addEventListener("change", loadTop);
  document.getElementById("movement-form").addEventListener("submit", (e) => { e.preventDefault(); loadMovement(); });
  document.getElementById("as-of").addEventListener("change", loadAll);
  loadAll();
  document.body.dataset.ready = "1";
});
