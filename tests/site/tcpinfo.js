// "How this page reached you": asks taplab's /tcpinfo about the connection this very
// request travels on, and draws its handshake and first segments as a small ladder.
// The page works without it; <noscript> in index.html points to the raw JSON instead.
(function () {
  "use strict";
  var box = document.getElementById("tcpinfo");
  if (!box) return;
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text, ns) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function sentence(j) {
    var c = j.client, s = j.server, n = j.negotiated;
    var p = el("p");
    p.textContent =
      "Your browser at " + c.address + ":" + c.port + " opened this connection to " +
      s.address + ":" + s.port + ". Its initial sequence number was " + c.isn +
      ", ours " + s.isn + " (Wireshark shows both as 0). It offered MSS " + c.mss +
      ", we offered " + s.mss + "; window scaling " +
      (n.window_scaling ? "on (shift " + n.client_shift + " and " + n.server_shift + ")" : "off") +
      ", SACK " + (n.sack ? "on" : "off") + ", timestamps " + (n.timestamps ? "on" : "off") +
      ". So far: " + j.so_far.segments_from_client + " segments (" + j.so_far.bytes_from_client +
      " bytes) from you, " + j.so_far.segments_to_client + " (" + j.so_far.bytes_to_client +
      " bytes) from us.";
    return p;
  }

  var ROWS = 24; // the handshake, the first request and the start of the answer

  function ladder(j) {
    var segs = j.segments.slice(0, ROWS), row = 22, top = 34, w = 560, left = 110, right = w - 110;
    var h = top + segs.length * row + 20;
    var svg = el("svg", { id: "tcpinfo-ladder", viewBox: "0 0 " + w + " " + h, width: w, height: h,
                          role: "img", "aria-label": "ladder of this connection" }, undefined, SVG);
    svg.appendChild(el("text", { x: left, y: 16, "text-anchor": "middle", class: "who" }, "you (client)", SVG));
    svg.appendChild(el("text", { x: right, y: 16, "text-anchor": "middle", class: "who" }, "taplab (server)", SVG));
    svg.appendChild(el("line", { x1: left, y1: 22, x2: left, y2: h - 6, class: "life" }, undefined, SVG));
    svg.appendChild(el("line", { x1: right, y1: 22, x2: right, y2: h - 6, class: "life" }, undefined, SVG));
    segs.forEach(function (s, i) {
      var y = top + i * row, fromClient = s.from === "client";
      var x1 = fromClient ? left : right, x2 = fromClient ? right : left;
      var kind = /SYN|FIN|RST/.test(s.flags) ? "ctl" : (s.len > 0 ? "data" : "ack");
      svg.appendChild(el("line", { x1: x1, y1: y, x2: x2, y2: y + row - 8, class: "seg " + kind }, undefined, SVG));
      var head = fromClient ? (x2 - 7) : (x2 + 7);
      svg.appendChild(el("polygon", { points: x2 + "," + (y + row - 8) + " " + head + "," + (y + row - 13) + " " + head + "," + (y + row - 5), class: "head " + kind }, undefined, SVG));
      var label = "[" + s.flags + "] Seq=" + s.seq + (s.ack === null ? "" : " Ack=" + s.ack) + " Len=" + s.len;
      svg.appendChild(el("text", { x: w / 2, y: y + 7, "text-anchor": "middle", class: "label" }, label, SVG));
      svg.appendChild(el("text", { x: fromClient ? 4 : w - 4, y: y + 8, "text-anchor": fromClient ? "start" : "end", class: "time" }, s.t_ms.toFixed(3) + " ms", SVG));
    });
    return svg;
  }

  function states(j) {
    var p = el("p", { class: "note" });
    var more = j.segments_not_listed + Math.max(0, j.segments.length - ROWS);
    p.textContent = "Our side went through: " + j.server_states.map(function (s) { return s.state; }).join(" → ") +
      (more ? ". " + more + " more segments are not drawn." : ".");
    return p;
  }

  fetch("/tcpinfo", { cache: "no-store" })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (j) {
      box.textContent = "";
      box.appendChild(sentence(j));
      box.appendChild(ladder(j));
      box.appendChild(states(j));
      var a = el("p", { class: "note" });
      a.appendChild(document.createTextNode("Knobs in force: " + j.knobs.summary + ". Raw data: "));
      a.appendChild(el("a", { href: "/tcpinfo" }, "/tcpinfo"));
      box.appendChild(a);
    })
    .catch(function () {
      box.textContent = "This server does not offer /tcpinfo (only taplab serve does).";
    });
})();
