"use strict";
/* 渠道 Channels: the configured channel accounts and how many follower bindings each channel has. */
DaogouHQ.registerPage("channels", {
  async render(root, ctx) {
    const { el, t } = ctx;
    const [data, kinds] = await Promise.all([ctx.api("/api/v1/channel-accounts"), ctx.channelKinds()]);
    const name = (kind) => ctx.channelLabel(kinds, kind);
    const accounts = data.channel_accounts;
    root.append(accounts.length
      ? el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ["hq.channels.kind", "hq.channels.name", "hq.channels.enabled"].map((k) => el("th", {}, t(k))))),
        el("tbody", {}, accounts.map((a) => el("tr", {}, el("td", {}, name(a.kind)), el("td", {}, a.name),
          el("td", {}, el("span", { class: `pill ${a.enabled ? "on" : "off"}` }, t(a.enabled ? "hq.channels.on" : "hq.channels.off")))))))
      : el("p", { class: "panel muted" }, t("hq.channels.empty")));
    const byChannel = Object.entries(data.followers_by_channel).sort((a, b) => b[1] - a[1]);
    if (byChannel.length) {
      const chartEl = el("div", { class: "chart" });
      root.append(el("div", { class: "panel" }, el("h3", {}, t("hq.channels.followers")), chartEl));
      ctx.chart(chartEl, {
        grid: { left: 80, right: 20, top: 10, bottom: 30 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: byChannel.map(([k]) => name(k)) },
        series: [{ type: "bar", data: byChannel.map(([, v]) => v), itemStyle: { color: "#b8322a" } }],
        tooltip: {},
        animation: false,
      });
    }
  },
});
