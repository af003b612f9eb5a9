// The micro dashboard: polls /_micro/ui/data once a second and redraws.
// Read-only, no dependencies, nothing fetched from outside the registry.
"use strict";

const REFRESH_MS = 1000;

function text(value) {
  return value === null || value === undefined ? "-" : String(value);
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  if (value < 0.001) return Math.round(value * 1e6) + "us";
  if (value < 1) return (value * 1000).toFixed(value < 0.01 ? 2 : 1) + "ms";
  return value.toFixed(2) + "s";
}

function count(value) {
  return value === null || value === undefined ? "-" : value.toLocaleString("en");
}

function rate(value) {
  if (value === null || value === undefined) return "-";
  return value >= 100 ? Math.round(value).toLocaleString("en") : value.toFixed(1);
}

function row(cells, attributes) {
  const tr = document.createElement("tr");
  for (const [name, value] of Object.entries(attributes || {})) tr.setAttribute(name, value);
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell.text;
    if (cell.className) td.className = cell.className;
    tr.appendChild(td);
  }
  return tr;
}

function fill(id, rows, columns, empty) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = empty;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function draw(data) {
  const r = data.registry;
  document.getElementById("registry").textContent =
    `epoch ${r.epoch} · version ${r.version} · ${r.nodes} nodes · ${r.services} services · ` +
    `${r.instances} instances · up ${seconds(r.uptime)}` + (r.recovering ? " · recovering" : "");
  const num = (value) => ({text: value, className: "num"});
  fill("services", data.services.map((s) => row([
    {text: s.name}, num(text(s.instances.length)), {text: rate(s.calls_per_second), className: "num rate"},
    {text: rate(s.errors_per_second), className: s.errors_per_second > 0 ? "num errors" : "num"},
    {text: seconds(s.p50), className: "num p50"}, {text: seconds(s.p99), className: "num p99"},
    num(text(s.in_flight)), {text: count(s.calls), className: "num calls"}, num(count(s.errors)),
  ], {"data-service": s.name})), 9, "no service registered");
  const instances = [];
  for (const s of data.services) {
    for (const i of s.instances) {
      instances.push(row([
        {text: s.name}, {text: i.location}, {text: i.node}, num(seconds(i.lease_age)),
        {text: i.status, className: i.status}, num(text(i.in_flight)),
      ], {"data-instance": i.location, "data-of": s.name}));
    }
  }
  fill("instances", instances, 6, "no instance");
  fill("nodes", data.nodes.map((n) => row([
    {text: n.node}, num(text(n.instances.length)), num(seconds(n.lease_age)), num(seconds(n.expires_in)),
    {text: n.watching ? "yes" : "no"}, num(text(n.version)),
  ], {"data-node": n.node})), 6, "no node");
  fill("routes", data.routes.map((route) => row([
    {text: route.path}, {text: route.service}, {text: route.dataType}, num(text(route.instances)),
  ], {"data-route": route.path})), 4, "no route");
  fill("channels", data.channels.map((c) => row([
    {text: c.channel}, num(text(c.subscribers.length)), {text: c.subscribers.join(", ")},
  ], {"data-channel": c.channel})), 3, "no subscription");
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const reply = await fetch("/_micro/ui/data", {cache: "no-store", credentials: "same-origin"});
    if (!reply.ok) throw new Error(`${reply.status} ${(await reply.json()).error || reply.statusText}`);
    draw(await reply.json());
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "status";
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (error) {
    status.textContent = "registry unreachable: " + error.message;
    status.className = "status stale";
  }
  setTimeout(refresh, REFRESH_MS);
}

refresh();
