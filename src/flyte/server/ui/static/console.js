// The Flyte console's only script: local times, confirmations, the lazy action tree and live
// updates by polling the console's JSON (/ui/api/...). Pages work without it, minus the live parts.
"use strict";

(function () {
  const POLL_MS = 1500;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.href = "/signin?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.json();
  }

  function localTimes(root) {
    for (const el of $$("time[data-ts]", root)) {
      const when = new Date(parseFloat(el.dataset.ts) * 1000);
      el.textContent = when.toLocaleString();
      el.title = el.getAttribute("datetime");
    }
  }

  // Every loop below runs while the page is visible, one request at a time.
  function poll(step) {
    let stopped = false;
    async function tick() {
      if (stopped) return;
      if (!document.hidden) {
        try {
          if ((await step()) === false) { stopped = true; return; }
        } catch (e) { /* keep trying: the server may be restarting */ }
      }
      setTimeout(tick, POLL_MS);
    }
    setTimeout(tick, POLL_MS);
  }

  // -- confirmations ----------------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  // -- the action tree ----------------------------------------------------------------------------
  const tree = () => $("[data-run].tree");
  function runOf(el) { return el.closest("[data-run]").dataset.run; }
  function api(run) { return "/ui/api/runs/" + encodeURIComponent(run); }

  async function toggleChildren(button) {
    const node = button.closest("li.node");
    const list = $(":scope > ul.children", node);
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    list.hidden = !open;
    if (open && !list.dataset.loaded) {
      list.innerHTML = '<li class="muted">loading…</li>';
      const data = await getJSON(api(runOf(node)) + "/children?parent=" + encodeURIComponent(node.dataset.action));
      list.innerHTML = data.html;
      list.dataset.loaded = "1";
      localTimes(list);
    }
  }

  async function loadMembers(group, reset) {
    const list = $(":scope > ul.members", group);
    const more = $(":scope > button.more", group);
    if (reset) { list.innerHTML = ""; delete group.dataset.next; }
    const params = new URLSearchParams({ parent: group.dataset.parent, key: group.dataset.key });
    if (group.dataset.next) params.set("cursor", group.dataset.next);
    const phase = $(":scope > .row select.member-phase", group).value;
    if (phase) params.set("phase", phase);
    more.disabled = true;
    const data = await getJSON(api(runOf(group)) + "/members?" + params.toString());
    list.insertAdjacentHTML("beforeend", data.html);
    list.dataset.loaded = "1";
    if (data.next) group.dataset.next = data.next; else delete group.dataset.next;
    more.hidden = !data.next;
    more.disabled = false;
    localTimes(list);
  }

  async function toggleMembers(button) {
    const group = button.closest("li.group");
    const list = $(":scope > ul.members", group);
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    list.hidden = !open;
    $(":scope > button.more", group).hidden = !open || !group.dataset.next;
    if (open && !list.dataset.loaded) await loadMembers(group, true);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.matches(".toggle[data-children]")) toggleChildren(button);
    else if (button.matches(".toggle[data-members]")) toggleMembers(button);
    else if (button.matches("li.group > button.more")) loadMembers(button.closest("li.group"), false);
  });

  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!select.matches("select.member-phase")) return;
    const group = select.closest("li.group");
    const button = $(":scope > .row > .toggle", group);
    button.setAttribute("aria-expanded", "true");
    $(":scope > ul.members", group).hidden = false;
    loadMembers(group, true);
  });

  // -- live updates ---------------------------------------------------------------------------------
  function setState(el, state) {
    const badge = $(".phase", el);
    if (badge && badge.dataset.phase !== state.phase) badge.outerHTML = state.phase_html;
    const dur = $(".dur", el);
    if (dur) dur.textContent = state.duration;
    if (state.ended) el.removeAttribute("data-live");
  }

  function liveRunPage(head) {
    const run = head.dataset.run;
    poll(async () => {
      const params = new URLSearchParams();
      for (const node of $$("li.node[data-live]", tree()).slice(0, 500)) params.append("action", node.dataset.action);
      for (const g of $$("li.group[data-live]", tree()).slice(0, 200)) params.append("group", g.dataset.parent + "|" + g.dataset.key);
      const root = $("li.node[data-action=a0]", tree());
      params.set("top", root ? String($$(":scope > ul.children > li:not(.muted)", root).length) : "-1");
      const data = await getJSON(api(run) + "/live?" + params.toString());
      const expanded = $$('.toggle[aria-expanded="true"]', tree()).length > 0;
      if (data.run.ended && !expanded) {
        // Nothing opened by the viewer to lose: show the ended run whole (outputs, timeline).
        window.location.replace(window.location.pathname);
        return false;
      }
      if (data.tree_html !== undefined) {
        tree().innerHTML = data.tree_html; // new children under the root: its first level anew
        localTimes(tree());
      }
      for (const [name, state] of Object.entries(data.actions)) {
        for (const node of $$('li.node[data-action="' + CSS.escape(name) + '"]', tree())) {
          setState($(":scope > .row", node), state);
          if (state.ended) node.removeAttribute("data-live");
        }
      }
      for (const [id, html] of Object.entries(data.groups)) {
        const [parent, ...rest] = id.split("|");
        const key = rest.join("|");
        for (const g of $$("li.group", tree())) {
          if (g.dataset.parent === parent && g.dataset.key === key) $(":scope > .row > .gstate", g).innerHTML = html;
        }
      }
      const phase = $("#run-phase");
      if ($(".phase", phase).dataset.phase !== data.run.phase) phase.innerHTML = data.run.phase_html;
      $("#run-duration").textContent = data.run.duration;
      $("#run-counts").textContent = data.run.counts;
      if (data.run.ended) {
        head.removeAttribute("data-live");
        for (const form of $$("form[action$='/abort']", head)) form.remove();
        $("#run-ended").hidden = false;
        return false;
      }
    });
  }

  function liveRunsPage(table) {
    poll(async () => {
      const params = new URLSearchParams(table.dataset.filters || "");
      for (const row of $$("tr[data-live]", table)) params.append("name", row.dataset.run);
      if (table.dataset.newest) params.set("newest", table.dataset.newest);
      if (!params.has("name") && !params.has("newest")) return false;
      const data = await getJSON("/ui/api/runs/states?" + params.toString());
      for (const [name, state] of Object.entries(data.runs)) {
        const row = $('tr[data-run="' + CSS.escape(name) + '"]', table);
        if (!row) continue;
        $(".c-phase", row).innerHTML = state.phase_html;
        $(".c-dur", row).textContent = state.duration;
        $(".c-err", row).textContent = state.error;
        if (state.ended) row.removeAttribute("data-live");
      }
      const banner = $("#new-runs");
      if (data.newer > 0) {
        banner.hidden = false;
        $("a", banner).textContent = data.newer + " new run" + (data.newer > 1 ? "s" : "") + ": show";
        $("a", banner).href = window.location.pathname + window.location.search;
      }
    });
  }

  function tailLogs(head) {
    const logs = $("#logs");
    const state = $("#logs-state");
    poll(async () => {
      const data = await getJSON(logs.dataset.src + "?after=" + encodeURIComponent(logs.dataset.after));
      const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      if (data.ended) {
        state.textContent = "ended";
        window.location.replace(window.location.pathname); // show its error, outputs and report
        return false;
      }
      if (data.html) logs.insertAdjacentHTML("beforeend", data.html);
      logs.dataset.after = data.after;
      if (atBottom) logs.scrollTop = logs.scrollHeight;
      if (data.state) {
        const phase = $("#action-phase");
        if ($(".phase", phase).dataset.phase !== data.state.phase) phase.innerHTML = data.state.phase_html;
        $("#action-duration").textContent = data.state.duration;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    const runHead = $("#run-head[data-live]");
    if (runHead) liveRunPage(runHead);
    const runs = $("table#runs");
    if (runs) liveRunsPage(runs);
    const actionHead = $("#action-head[data-live]");
    if (actionHead) tailLogs(actionHead);
  });
})();
