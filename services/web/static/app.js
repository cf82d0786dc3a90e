// incidentfeed's page: the current incidents on a map and in a list, live over /v1/stream.
// Everything an article wrote (titles, outlets, quotes, names) is untrusted: it only ever
// becomes text (textContent, setAttribute of plain attributes), never markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 960;
const HEIGHT = 480;
const EVENT_TYPES = {
  air_drone_strike: "Air or drone strike",
  shelling_artillery_missile_attack: "Shelling, artillery or missile attack",
  remote_explosive_landmine_ied: "Remote explosive, landmine or IED",
  suicide_bomb: "Suicide bomb",
  grenade: "Grenade",
};
const FEED_EVENTS = ["incidentfeed.incident.created", "incidentfeed.incident.updated", "incidentfeed.incident.merged"];

const state = {
  incidents: new Map(),
  changed: new Set(),
  selected: null,
  sort: { key: "updated", direction: -1 },
};

// ------------------------------------------------------------------ small DOM helpers

function element(tag, attributes = {}, text = null, namespace = null) {
  const node = namespace ? document.createElementNS(namespace, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

function svg(tag, attributes = {}, text = null) {
  return element(tag, attributes, text, SVG);
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function safeUrl(url) {
  // Only web links become links: never javascript:, data: or anything else an article could send.
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function project(lon, lat) {
  return [((lon + 180) / 360) * WIDTH, ((90 - lat) / 180) * HEIGHT];
}

function toll(incident, name) {
  return (incident.casualties || {})[name] || null;
}

function tollText(value) {
  if (!value || value.best === null || value.best === undefined) return "–";
  const range = value.low !== value.high && value.low !== null && value.high !== null ? ` (${value.low}–${value.high})` : "";
  return `${value.best}${range}`;
}

function typeOf(incident) {
  return incident.event_type || "unknown";
}

function placeOf(incident) {
  return (incident.location || {}).name || "";
}

function countryOf(incident) {
  return (incident.location || {}).country_code || "";
}

function dateOf(incident) {
  return (incident.occurred || {}).date || (incident.occurred || {}).reported || "";
}

// ------------------------------------------------------------------ the map

async function drawCountries() {
  const group = document.getElementById("countries");
  try {
    const response = await fetch("/assets/countries.json");
    if (!response.ok || !window.topojson) return;
    const topology = await response.json();
    const countries = window.topojson.feature(topology, topology.objects.countries).features;
    for (const country of countries) {
      const d = pathOf(country.geometry);
      if (d) group.appendChild(svg("path", { d, class: "country" }));
    }
  } catch (error) {
    console.warn("no country outlines:", error);
  }
}

function pathOf(geometry) {
  if (!geometry) return "";
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  const parts = [];
  for (const polygon of polygons) {
    for (const ring of polygon) {
      let previous = null;
      ring.forEach(([lon, lat], i) => {
        const [x, y] = project(lon, lat);
        // A ring that crosses the antimeridian would draw a line across the world: lift the pen.
        const jump = previous !== null && Math.abs(x - previous) > WIDTH / 2;
        parts.push(`${i === 0 || jump ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`);
        previous = x;
      });
      parts.push("Z");
    }
  }
  return parts.join("");
}

function drawMarkers(incidents) {
  const group = document.getElementById("markers");
  clear(group);
  const placed = incidents.filter((i) => i.location && i.location.lat !== null && i.location.lon !== null);
  for (const incident of placed) {
    const [x, y] = project(incident.location.lon, incident.location.lat);
    const classes = ["marker", `type-${typeOf(incident)}`];
    if (state.changed.has(incident.incident_id)) classes.push("changed");
    if (state.selected === incident.incident_id) classes.push("selected");
    const marker = svg("circle", {
      cx: x.toFixed(2), cy: y.toFixed(2),  // r: set by fitView, at the map's scale
      class: classes.join(" "), "data-incident-id": incident.incident_id,
    });
    marker.appendChild(svg("title", {}, `${incident.title} — ${placeOf(incident)}, killed ${tollText(toll(incident, "killed"))}`));
    marker.addEventListener("click", () => select(incident.incident_id));
    group.appendChild(marker);
  }
  fitView(placed);
}

function fitView(placed) {
  // Frame the incidents (at least 24 degrees wide), so that a city's attacks are told apart.
  const map = document.getElementById("map");
  if (!placed.length) {
    map.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    return;
  }
  const points = placed.map((i) => project(i.location.lon, i.location.lat));
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const minimum = (24 / 360) * WIDTH;
  let width = Math.max(minimum, Math.max(...xs) - Math.min(...xs)) * 1.3;
  let height = Math.max(minimum / 2, Math.max(...ys) - Math.min(...ys)) * 1.3;
  if (width / height > 2) height = width / 2; else width = height * 2;
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  map.setAttribute("viewBox", `${(cx - width / 2).toFixed(1)} ${(cy - height / 2).toFixed(1)} ${width.toFixed(1)} ${height.toFixed(1)}`);
  const scale = width / WIDTH;
  for (const marker of map.querySelectorAll(".marker")) {
    const killed = (toll(state.incidents.get(marker.dataset.incidentId), "killed") || {}).best || 0;
    marker.setAttribute("r", ((4 + 2.2 * Math.sqrt(killed)) * scale).toFixed(3));
  }
}

function drawLegend() {
  const legend = document.getElementById("legend");
  clear(legend);
  for (const [key, label] of Object.entries({ ...EVENT_TYPES, unknown: "No weapon named" })) {
    const item = element("span");
    const swatch = svg("svg", { viewBox: "0 0 10 10" });
    swatch.appendChild(svg("circle", { cx: 5, cy: 5, r: 5, class: `type-${key}` }));
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(label));
    legend.appendChild(item);
  }
  legend.appendChild(element("span", {}, "Size: people killed. Red ring: changed since you opened the page."));
}

// ------------------------------------------------------------------ the list

const SORT_KEYS = {
  date: (i) => dateOf(i),
  place: (i) => placeOf(i).toLowerCase(),
  country: (i) => countryOf(i),
  type: (i) => typeOf(i),
  killed: (i) => (toll(i, "killed") || {}).best ?? -1,
  injured: (i) => (toll(i, "injured") || {}).best ?? -1,
  reports: (i) => (i.reports || []).length,
  updated: (i) => i.updated_at || "",
};

function filtered() {
  const text = document.getElementById("filter-text").value.trim().toLowerCase();
  const country = document.getElementById("filter-country").value;
  const type = document.getElementById("filter-type").value;
  const from = document.getElementById("filter-from").value;
  const to = document.getElementById("filter-to").value;
  const key = SORT_KEYS[state.sort.key];
  return [...state.incidents.values()]
    .filter((i) => !country || countryOf(i) === country)
    .filter((i) => !type || typeOf(i) === type)
    .filter((i) => !from || (dateOf(i) && dateOf(i) >= from))
    .filter((i) => !to || (dateOf(i) && dateOf(i) <= to))
    .filter((i) => !text || [i.title, placeOf(i), ...(i.weapons || []), i.perpetrator || ""].join(" ").toLowerCase().includes(text))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * state.sort.direction);
}

function drawList(incidents) {
  const body = document.querySelector("#incidents tbody");
  clear(body);
  for (const incident of incidents) {
    const row = element("tr", { "data-incident-id": incident.incident_id });
    if (state.changed.has(incident.incident_id)) row.classList.add("changed");
    if (state.selected === incident.incident_id) row.classList.add("selected");
    const cells = [
      dateOf(incident) || "unknown",
      placeOf(incident) || "unknown",
      countryOf(incident),
      EVENT_TYPES[incident.event_type] || "–",
      tollText(toll(incident, "killed")),
      tollText(toll(incident, "injured")),
      (incident.reports || []).length,
      (incident.updated_at || "").replace("T", " ").slice(0, 16),
    ];
    for (const value of cells) row.appendChild(element("td", {}, value));
    row.addEventListener("click", () => select(incident.incident_id));
    body.appendChild(row);
  }
  document.getElementById("count").textContent = `${incidents.length} of ${state.incidents.size} incidents`;
  for (const th of document.querySelectorAll("#incidents th")) {
    th.classList.toggle("sorted-asc", th.dataset.sort === state.sort.key && state.sort.direction === 1);
    th.classList.toggle("sorted-desc", th.dataset.sort === state.sort.key && state.sort.direction === -1);
  }
}

function fillFilterOptions() {
  const countries = [...new Set([...state.incidents.values()].map(countryOf).filter(Boolean))].sort();
  const select = document.getElementById("filter-country");
  const chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const code of countries) select.appendChild(element("option", { value: code }, code));
  select.value = countries.includes(chosen) ? chosen : "";
  const types = document.getElementById("filter-type");
  if (types.options.length === 1) {
    for (const [key, label] of Object.entries(EVENT_TYPES)) types.appendChild(element("option", { value: key }, label));
    types.appendChild(element("option", { value: "unknown" }, "No weapon named"));
  }
}

function render() {
  const incidents = filtered();
  drawMarkers(incidents);
  drawList(incidents);
  fillFilterOptions();
}

// ------------------------------------------------------------------ one incident

async function select(incidentId) {
  state.selected = incidentId;
  history.replaceState(null, "", `#incident=${encodeURIComponent(incidentId)}`);  // a link to this incident's page
  state.changed.delete(incidentId);
  render();
  const incident = state.incidents.get(incidentId);
  const detail = document.getElementById("detail");
  clear(detail);
  detail.hidden = false;
  if (!incident) return;
  const close = element("button", { class: "close", "aria-label": "Close" }, "×");
  close.addEventListener("click", () => {
    detail.hidden = true;
    state.selected = null;
    history.replaceState(null, "", location.pathname);
    render();
  });
  detail.appendChild(close);
  detail.appendChild(element("h2", {}, incident.title));
  const facts = element("p");
  facts.textContent = [
    `${placeOf(incident) || "place unknown"}${countryOf(incident) ? ", " + countryOf(incident) : ""}`,
    `on ${dateOf(incident) || "an unknown day"}`,
    EVENT_TYPES[incident.event_type] || "no weapon named",
    (incident.weapons || []).length ? `weapons: ${incident.weapons.join(", ")}` : "",
    incident.perpetrator ? `attributed to ${incident.perpetrator}` : "",
    `revision ${incident.revision}`,
  ].filter(Boolean).join(" · ");
  detail.appendChild(facts);
  const tolls = element("p");
  tolls.textContent = Object.entries(incident.casualties || {})
    .filter(([, value]) => value && value.best !== null)
    .map(([name, value]) => `${name.replace("_", " ")}: ${tollText(value)}`)
    .join(" · ") || "No toll reported.";
  detail.appendChild(tolls);

  detail.appendChild(element("h3", {}, "Tolls over the revisions"));
  const chart = svg("svg", { class: "chart", viewBox: "0 0 300 120" });
  detail.appendChild(chart);
  drawRevisions(chart, incidentId);

  detail.appendChild(element("h3", {}, `Reports (${(incident.reports || []).length})`));
  for (const report of incident.reports || []) detail.appendChild(reportView(report, incident));
}

async function drawRevisions(chart, incidentId) {
  const response = await fetch(`/v1/incidents/${encodeURIComponent(incidentId)}/revisions`);
  if (!response.ok) return;
  const revisions = (await response.json()).events.map((event) => event.data);
  const series = { killed: [], injured: [] };
  for (const revision of revisions) {
    for (const name of Object.keys(series)) series[name].push(((revision.casualties || {})[name] || {}).best ?? null);
  }
  const top = Math.max(1, ...series.killed.filter((v) => v !== null), ...series.injured.filter((v) => v !== null));
  const step = revisions.length > 1 ? 280 / (revisions.length - 1) : 0;
  for (const [name, values] of Object.entries(series)) {
    const points = values.map((v, i) => (v === null ? null : `${(10 + i * step).toFixed(1)},${(110 - (v / top) * 95).toFixed(1)}`)).filter(Boolean);
    if (points.length === 1) points.push(points[0].replace(/^[\d.]+/, "290"));
    if (points.length) chart.appendChild(svg("polyline", { points: points.join(" "), class: name }));
  }
  chart.appendChild(svg("text", { x: 12, y: 12 }, `max ${top} · killed (red), injured (blue) · ${revisions.length} revisions`));
}

function reportView(report, incident) {
  const view = element("div", { class: "report" });
  const heading = element("div");
  const url = report.url ? safeUrl(report.url) : null;
  const title = report.title || report.article_id;
  if (url) {
    const link = element("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, title);
    heading.appendChild(link);
  } else {
    heading.appendChild(element("strong", {}, title));
  }
  view.appendChild(heading);
  const figures = Object.entries(report.figures || {}).map(([name, f]) => `${name.replace("_", " ")} ${f.value} (${f.qualifier.replace("_", " ")})`);
  view.appendChild(element("div", { class: "meta" }, [
    report.outlet || "outlet unknown",
    report.published_at ? `published ${report.published_at.replace("T", " ").slice(0, 16)}` : "no publication time",
    figures.length ? figures.join(", ") : "no figures",
  ].join(" · ")));
  view.appendChild(element("div", { class: "meta" }, `Matched: ${report.reason} (confidence ${Number(report.confidence).toFixed(2)})`));
  const claims = (incident.claims || []).filter((claim) => claim.article_id === report.article_id);
  const tolls = claims.filter((c) => !c.disputed);
  const disputed = claims.filter((c) => c.disputed);
  for (const claim of tolls) view.appendChild(claimView(claim));
  if (disputed.length) {
    view.appendChild(element("div", { class: "meta" }, "Claims by a party to the fight (never a toll):"));
    for (const claim of disputed) view.appendChild(claimView(claim));
  }
  if ((report.syndicated || []).length) {
    view.appendChild(element("div", { class: "meta" }, `Syndicated copies (${report.syndicated.length}):`));
    const list = element("ul");
    for (const copy of report.syndicated) {
      const item = element("li");
      const copyUrl = copy.url ? safeUrl(copy.url) : null;
      const label = `${copy.outlet || copy.article_id}${copy.published_at ? " · " + copy.published_at.slice(0, 16).replace("T", " ") : ""}`;
      item.appendChild(copyUrl ? element("a", { href: copyUrl, rel: "noopener noreferrer nofollow", target: "_blank" }, label) : document.createTextNode(label));
      list.appendChild(item);
    }
    view.appendChild(list);
  }
  return view;
}

function claimView(claim) {
  const classes = ["claim"];
  if (claim.disputed) classes.push("disputed");
  if (claim.superseded) classes.push("superseded");
  const view = element("div", { class: classes.join(" ") });
  const value = claim.value ?? (claim.low !== null ? `${claim.low}–${claim.high}` : "?");
  view.appendChild(element("span", { class: "value" }, `${claim.category.replace("_", " ")} ${value}`));
  if (claim.qualifier && claim.qualifier !== "exact") view.appendChild(document.createTextNode(` (${claim.qualifier.replace("_", " ")})`));
  if (claim.claimed_by) view.appendChild(document.createTextNode(`, said ${claim.claimed_by}`));
  if (claim.disputed) view.appendChild(element("span", { class: "badge disputed" }, "disputed"));
  if (claim.superseded) view.appendChild(element("span", { class: "badge superseded" }, "superseded"));
  if (claim.partial) view.appendChild(element("span", { class: "badge" }, "part of a toll"));
  view.appendChild(element("br"));
  view.appendChild(element("q", {}, claim.quote));
  return view;
}

// ------------------------------------------------------------------ live

function applyEvent(event) {
  const incident = event.data;
  if (!incident || !incident.incident_id) return;
  if (incident.merged_into) {
    state.incidents.delete(incident.incident_id);
    state.changed.add(incident.merged_into);
  } else {
    state.incidents.set(incident.incident_id, incident);
    state.changed.add(incident.incident_id);
  }
  render();
  if (state.selected === incident.incident_id) select(incident.incident_id);
}

function connect() {
  const status = document.getElementById("status");
  const source = new EventSource("/v1/stream");
  source.addEventListener("open", () => { status.textContent = "live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  for (const type of FEED_EVENTS) {
    source.addEventListener(type, (message) => {
      try {
        applyEvent(JSON.parse(message.data));
      } catch (error) {
        console.warn("unreadable feed event", error);
      }
    });
  }
}

async function load() {
  let offset = 0;
  for (;;) {
    const response = await fetch(`/v1/incidents?limit=500&offset=${offset}`);
    if (!response.ok) throw new Error(`GET /v1/incidents: ${response.status}`);
    const page = await response.json();
    for (const incident of page.incidents) state.incidents.set(incident.incident_id, incident);
    offset += page.incidents.length;
    if (!page.incidents.length || offset >= page.total) break;
  }
}

async function main() {
  drawLegend();
  for (const th of document.querySelectorAll("#incidents th")) {
    th.addEventListener("click", () => {
      state.sort = { key: th.dataset.sort, direction: state.sort.key === th.dataset.sort ? -state.sort.direction : -1 };
      render();
    });
  }
  for (const input of document.querySelectorAll("#filters input, #filters select")) input.addEventListener("input", render);
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  await drawCountries();
  // Connect first, so that nothing published while the list loads is missed.
  connect();
  await load();
  render();
  const linked = new URLSearchParams(location.hash.slice(1)).get("incident");
  if (linked && state.incidents.has(linked)) await select(linked);
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", () => {
  main().catch((error) => {
    document.getElementById("status").textContent = `error: ${error.message}`;
  });
});
