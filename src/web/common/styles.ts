/** The one stylesheet, served from /assets/app.css so pages need no inline styles under the CSP. */
export const APP_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; --accent: #0a58ca; --accent-strong: #0a3069; --button: #0a58ca; --on-button: #ffffff; --on-accent-strong: #ffffff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
code, pre { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--soft); border-radius: 4px; }
code { padding: .1em .3em; }
pre { padding: .75rem; overflow-x: auto; }
/* Long inline code (a query string in the API docs) wraps rather than widening a phone's page. */
p code, li code, td code { overflow-wrap: anywhere; }
.op { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; }
.op h3 { margin: 0; font-size: 1rem; display: flex; gap: .5rem; flex-wrap: wrap; align-items: baseline; }
.method { font: 700 .8rem ui-monospace, monospace; text-transform: uppercase; padding: .1rem .4rem; border-radius: 4px; background: #ddf4ff; color: #0550ae; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.page { max-width: 36rem; }
.small { font-size: .875rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; background: var(--bg); }
.card > :first-child { margin-top: 0; }
.notice { border-left: 4px solid var(--accent); background: var(--soft); padding: .75rem 1rem; border-radius: 4px; }
.error { border-left-color: #b42318; }
fieldset { border: 0; padding: 0; margin: 1rem 0; }
legend { font-weight: 600; margin-bottom: .5rem; }
label { display: block; }
.choice { display: flex; gap: .6rem; align-items: flex-start; padding: .45rem 0; }
.choice input { margin-top: .2rem; width: 1.15rem; height: 1.15rem; flex: none; }
textarea, input[type=email], input[type=text], select { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--fg); }
textarea { min-height: 5rem; }
button, .button { display: inline-block; font: inherit; font-weight: 600; padding: .65rem 1.2rem; border-radius: 6px; border: 1px solid var(--accent-strong); background: var(--button); color: var(--on-button); cursor: pointer; text-decoration: none; min-height: 44px; }
button.secondary, .button.secondary { background: #fff; color: var(--accent-strong); }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
fieldset.group { border: 1px solid var(--line); border-radius: 8px; padding: .5rem 1rem .75rem; margin: 1rem 0; }
fieldset.group legend { padding: 0 .35rem; margin-bottom: 0; font-size: 1.05rem; }
.desc { display: block; color: var(--muted); font-size: .875rem; }
.choice.stop { border-top: 1px solid var(--line); margin-top: .35rem; padding-top: .75rem; }
.notice.success { border-left-color: #1a7f37; }
.notice.warning { border-left-color: #9a6700; }
.desc.warning { color: #7a4d00; }
.notice p { margin: .25rem 0; }
button:hover, .button:hover { background: var(--accent-strong); color: var(--on-accent-strong); }
button.secondary:hover, .button.secondary:hover { background: var(--soft); color: var(--accent-strong); }
input[type=checkbox]:focus-visible, input[type=radio]:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
@media (max-width: 30rem) { main { padding: 1rem .75rem 3rem; } .actions > * { width: 100%; text-align: center; } }
.brand-bar { border-bottom: 1px solid var(--line); border-top: 4px solid var(--button); }
.brand-inner { max-width: 36rem; margin: 0 auto; padding: .6rem 1rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; justify-content: space-between; }
.brand { display: flex; align-items: center; gap: .6rem; margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.brand-logo { display: block; height: 40px; width: auto; max-width: 10rem; object-fit: contain; }
.languages ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0 .6rem; font-size: .875rem; }
.languages a { display: inline-block; padding: .3rem .1rem; }
.languages a[aria-current] { color: var(--fg); font-weight: 700; text-decoration: none; }
@media (max-width: 30rem) { .brand-inner { padding: .5rem .75rem; } }
.admin-bar { display: flex; justify-content: space-between; align-items: center; gap: 1rem; padding: .5rem 1rem; background: #0a3069; color: #fff; }
.admin-brand { font-weight: 600; }
.admin-bar button.small-button { min-height: 36px; padding: .3rem .9rem; border-color: #fff; }
main.admin { max-width: 72rem; }
.narrow { max-width: 28rem; }
.narrow input[type=password] { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid #8c959f; border-radius: 6px; }
.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; margin: 1rem 0; padding: .75rem 1rem; background: var(--soft); border: 1px solid var(--line); border-radius: 8px; }
.filters > div { flex: 1 1 9rem; }
.filters label { font-size: .875rem; font-weight: 600; }
.filters input[type=date] { width: 100%; font: inherit; padding: .45rem .5rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--fg); }
.filters .filters-submit { flex: 0 0 auto; }
.table-wrap { overflow-x: auto; }
.table-wrap:focus-visible, .admin summary:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
.chart { display: block; width: 100%; height: auto; }
.chart text { font: 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--muted); }
@media (max-width: 64rem) { .chart text { font-size: 17px; } }
@media (max-width: 48rem) { .chart text { font-size: 24px; } .chart .minor { display: none; } }
@media (max-width: 30rem) { .chart text { font-size: 32px; } }
.chart .grid line { stroke: var(--line); stroke-width: 1px; vector-effect: non-scaling-stroke; }
.chart .bars rect { fill: var(--accent); }
.chart .bars rect:hover { fill: #0a3069; }
.admin details { margin: .75rem 0; }
.admin summary { cursor: pointer; color: var(--accent); }
.admin details table { max-width: 24rem; margin-top: .5rem; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr)); gap: 0 1.5rem; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.meter-cell { width: 40%; vertical-align: middle; }
.meter { display: block; width: 100%; height: .7rem; }
.meter rect { fill: var(--accent); }
.recent th, .recent td { white-space: nowrap; }
tr.unchanged td { color: var(--muted); }
`;
