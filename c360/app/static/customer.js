// The agent's page: search, then one customer's panels, all from one streamed request (a JSON line per panel);
// the live panel then polls its own endpoint.
"use strict";

const el = C360.el;
let current = null;
let liveTimer = null;
let liveBusy = false;  // a live request is out: a poll does not start another

function api(path, extra) {
  return path + "?" + C360.params(extra);
}

async function search(text) {
  const section = document.getElementById("panel-search");
  section.hidden = false;
  await C360.load("search", api("/api/search", {q: text}), (body, answer) => {
    if (!answer.rows.length) {
      body.append(el("p", {class: "muted", text: "No customer matches."}));
      return;
    }
    body.append(el("ul", {}, answer.rows.map((row) => el("li", {
      "data-customer-id": row.customer_id, "data-score": row.score, onclick: () => openCustomer(row.customer_id),
    }, el("strong", {text: `${row.first_name || ""} ${row.last_name || ""}`.trim()}), " · #", String(row.customer_id),
       " · ", C360.text(row.email), " · ", C360.text(row.phone), " · ", C360.text(row.city),
       row.lookalikes > 0 ? el("span", {class: "tag dup", title: "same name and birth date as another customer",
         text: ` looks like ${row.lookalikes} other${row.lookalikes > 1 ? "s" : ""}`}) : null))));
  });
}

let opened = null;  // the request of the open customer's panels, aborted when another replaces it

function openCustomer(id) {
  current = id;
  const query = new URLSearchParams(location.search);
  query.set("id", id);
  history.replaceState(null, "", "?" + query.toString());
  document.getElementById("customer").hidden = false;
  delete document.body.dataset.rendered;
  clearInterval(liveTimer);
  if (opened) opened.abort();  // the server cancels what the last customer's panels still run
  // every panel from one request: the server starts them all at once and sends each as it is done
  const url = api(`/api/customer/${encodeURIComponent(id)}`);
  const early = window.C360_EARLY;  // asked for by the page's head, before its scripts loaded
  window.C360_EARLY = null;
  let response;
  if (early && early.url === url) {
    opened = early.controller;
    response = early.response;
  } else {
    if (early) early.controller.abort();
    opened = new AbortController();
    response = fetch(url, {signal: opened.signal});
  }
  const mine = opened;
  const still = () => current === id && opened === mine;
  liveBusy = true;  // the first live answer is the request's; polling starts after it
  C360.stream(response, {profile, rfm, predictions, browsing, enrichment, orders, live: showLive}, still).then(() => {
    if (!still()) return;
    liveBusy = false;
    // when all have answered (ready or failed), the page notes the time since navigation
    document.body.dataset.rendered = String(Math.round(performance.now()));
    C360.configured.then((config) => {  // the panels did not wait for the config; the polling interval does
      clearInterval(liveTimer);
      if (still()) liveTimer = setInterval(live, 1000 * (config.live_seconds || 5));
    });
  });
}

function live() {
  if (current === null || liveBusy) return;  // a slow source: the next poll waits for this one
  liveBusy = true;
  return C360.load("live", api(`/api/customer/${encodeURIComponent(current)}/live`), showLive)
    .finally(() => { liveBusy = false; });
}

function showLive(body, answer) {
  const stamp = el("div", {class: "muted", id: "live-checked", "data-checked": new Date().toISOString(),
    text: `checked ${new Date().toLocaleTimeString()} · windows since ${answer.since} UTC`});
  if (!answer.rows.length) {
    body.append(el("p", {text: `Not browsing now (no stream window in the last ${answer.live_hours} hours).`}), stamp);
    return;
  }
  const now = answer.rows[0];
  body.append(el("p", {}, "Now: ", el("strong", {"data-field": "live_category", text: now.category}),
    ` (${now.page_views} page views, ${C360.number(now.seconds)} s, window ending ${now.window_end})`));
  body.append(el("div", {class: "scroll"}, el("table", {id: "live-windows"},
    el("tr", {}, ["window start", "category", "page views", "seconds"].map((h) => el("th", {text: h}))),
    answer.rows.map((w) => el("tr", {"data-window-start": w.window_start, "data-category": w.category},
      el("td", {text: w.window_start}), el("td", {text: w.category}), el("td", {class: "num", text: w.page_views}),
      el("td", {class: "num", text: C360.number(w.seconds)}))))), stamp);
}

function profile(body, answer) {
  const c = answer.rows[0];
  if (!c) { body.append(el("p", {class: "muted", text: "No such customer in the CRM."})); return; }
  body.append(C360.fields([
    ["Name", "name", `${c.first_name || ""} ${c.last_name || ""}`.trim()], ["Customer id", "customer_id", c.customer_id],
    ["Email", "email", c.email], ["Phone", "phone", c.phone], ["Gender", "gender", c.gender],
    ["Birth date", "birth_date", c.birth_date], ["Income", "income_band", c.income_band],
    ["Household", "household_size", c.household_size], ["City", "city", c.city], ["State", "state", c.state],
    ["Country", "country", c.country], ["Signed up", "signup_date", c.signup_date],
    ["Marketing opt-in", "marketing_opt_in", c.marketing_opt_in],
  ]));
}

function rfm(body, answer) {
  const r = answer.rows[0];
  if (!r) { body.append(el("p", {class: "muted", text: "Not a customer as of this date."})); return; }
  body.append(el("div", {class: "big", "data-field": "segment", "data-value": C360.raw(r.segment), text: r.segment}));
  body.append(el("p", {"data-field": "segment_meaning", text: answer.meaning || ""}));
  body.append(C360.fields([
    ["R / F / M", "rfm_score", r.rfm_score, r.rfm_score ? `${r.r_score} / ${r.f_score} / ${r.m_score}` : "—"],
    ["Days since last order", "recency_days", r.recency_days], ["Orders (365 d)", "frequency", r.frequency],
    ["Net spend (365 d)", "monetary", r.monetary, C360.money(r.monetary)],
  ]));
}

function predictions(body, answer) {
  const p = answer.rows[0];
  if (!p) { body.append(el("p", {class: "muted", text: "No prediction for this customer."})); return; }
  document.getElementById("offer-text").textContent = answer.offer || "—";
  document.getElementById("offer-text").dataset.value = answer.offer || "";
  document.getElementById("offer-rule").textContent = "Rule: " + (answer.rule || "");
  body.append(C360.fields([
    ["P(purchase in 30 days)", "p_purchase_30d", p.p_purchase_30d, C360.percent(p.p_purchase_30d)],
    ["Predicted category", "predicted_category", p.predicted_category],
    ["Model", "model_version", p.model_version],
  ]));
  const categories = answer.categories || [];
  const values = categories.map((c) => p["p_" + c.toLowerCase()]);
  body.append(el("table", {id: "category-probabilities"}, categories.map((c, i) => el("tr", {},
    el("td", {text: c}), el("td", {class: "num", "data-field": "p_" + c.toLowerCase(), "data-value": C360.raw(values[i]),
      text: C360.percent(values[i])})))));
  C360.chart(body, "probabilities", {type: "bar", data: {labels: categories, datasets: [{data: values, backgroundColor: "#2563eb"}]},
    options: {indexAxis: "y", scales: {x: {min: 0, ticks: {callback: (v) => Math.round(v * 100) + "%"}}}}});
  const reasons = answer.reasons || {};
  if (reasons.error) body.append(el("div", {class: "error", text: "reasons: " + reasons.error}));
  for (const [key, title] of [["purchase", "Why she may buy (or not) in 30 days"], ["category", `Why ${p.predicted_category}`]]) {
    if (!reasons[key] || !reasons[key].length) continue;
    body.append(el("h3", {text: title, style: "font-size:13px;margin:.6rem 0 .2rem"}));
    body.append(el("ul", {class: "reasons", id: "reasons-" + key}, reasons[key].map((r) => el("li", {},
      el("span", {class: r.direction, text: r.direction === "raises" ? "▲ " : "▼ "}),
      `${r.words} = ${C360.text(r.value)} ${r.direction} it (${r.log_odds > 0 ? "+" : ""}${r.log_odds.toFixed(2)} log-odds)`))));
  }
}

function browsing(body, answer) {
  if (!answer.rows.length) { body.append(el("p", {class: "muted", text: "No browsing in the 30 days before this date."})); return; }
  C360.chart(body, "browsing", {type: "bar", data: {labels: answer.rows.map((r) => r.category),
    datasets: [{data: answer.rows.map((r) => r.seconds_30d), backgroundColor: "#0ea5e9"}]},
    options: {scales: {y: {title: {display: true, text: "seconds, 30 days"}}}}});
  body.append(el("table", {id: "browsing-table"}, el("tr", {}, ["category", "seconds 30 d", "views 30 d", "seconds 7 d", "last seen"]
    .map((h) => el("th", {text: h}))), answer.rows.map((r) => el("tr", {"data-category": r.category},
    el("td", {text: r.category}), el("td", {class: "num", "data-value": C360.raw(r.seconds_30d), text: C360.number(r.seconds_30d)}),
    el("td", {class: "num", text: r.page_views_30d}), el("td", {class: "num", text: C360.number(r.seconds_7d)}),
    el("td", {text: C360.text(r.last_seen)})))));
}

function enrichment(body, answer) {
  if (!answer.rows.length) { body.append(el("p", {class: "muted", text: "No partner record."})); return; }
  for (const r of answer.rows) {
    body.append(el("h3", {text: r.partner, style: "font-size:13px;margin:.3rem 0"}));
    body.append(C360.fields([
      ["Interests", "interests", r.interests], ["Social followers", "social_followers", r.social_followers],
      ["Social sentiment", "social_sentiment", r.social_sentiment],
      ["Survey NPS", "survey_nps", r.survey_nps, r.survey_nps === null ? "—" : `${r.survey_nps} (answered ${r.survey_responded_at})`],
      ["Influencer tier", "influencer_tier", r.influencer_tier], ["Updated", "updated_at", r.updated_at],
    ]));
  }
}

function orders(body, answer) {
  if (!answer.rows.length) { body.append(el("p", {class: "muted", text: "No orders before this date."})); return; }
  body.append(el("div", {class: "scroll"}, el("table", {id: "orders-table"},
    el("tr", {}, ["order", "date", "channel", "status", "items", "amount", "categories"].map((h) => el("th", {text: h}))),
    answer.rows.map((o) => el("tr", {"data-order-id": o.order_id, "data-status": o.status},
      el("td", {text: o.order_id}), el("td", {text: o.order_ts}), el("td", {text: C360.text(o.channel)}),
      el("td", {}, el("span", {class: "tag " + (o.status || ""), text: C360.text(o.status)})),
      el("td", {class: "num", text: o.items}), el("td", {class: "num", "data-value": C360.raw(o.amount), text: C360.money(o.amount)}),
      el("td", {text: C360.text(o.categories)}))))));
}

document.addEventListener("DOMContentLoaded", async () => {
  // The panels start at once: without ?as_of= the server's date applies, which is what the config would say.
  C360.configured = C360.header();
  const id = new URLSearchParams(location.search).get("id");
  if (id) openCustomer(id);
  await C360.configured;
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(document.getElementById("search").value);
  });
  document.getElementById("as-of").addEventListener("change", () => { if (current !== null) openCustomer(current); });
  document.body.dataset.ready = "1";
});
