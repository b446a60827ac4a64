#include "aggregator/serve/dashboard_assets.h"

namespace footfall::aggregator::serve {
namespace {

// Laid over the report's style sheet (served as /assets/report.css).
constexpr std::string_view kCss = R"(
header.top nav{display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:14px;margin-bottom:6px}
header.top nav a{color:#e2e8f0} header.top nav .who{margin-left:auto;color:#cbd5e1;display:flex;gap:8px;align-items:center}
header.top nav form{display:inline;margin:0}
button{font:inherit;padding:5px 12px;border:1px solid #94a3b8;border-radius:6px;background:#fff;color:var(--ink);cursor:pointer}
header.top button{background:#1e293b;color:#fff;border-color:#475569}
section.range form{display:flex;flex-wrap:wrap;gap:10px;align-items:center}
section.range input{font:inherit;padding:4px 6px}
.presets{display:flex;flex-wrap:wrap;gap:6px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table.sortable th[data-sort]{cursor:pointer;user-select:none}
table.sortable th[data-sort]::after{content:" \2195";color:#94a3b8}
table.sortable th[aria-sort=ascending]::after{content:" \2191";color:var(--ink)}
table.sortable th[aria-sort=descending]::after{content:" \2193";color:var(--ink)}
table.data tbody th,table.data tfoot th{text-align:left}
table.data tfoot td,table.data tfoot th{font-weight:700;border-top:2px solid var(--line)}
td.delta.up{color:#047857} td.delta.down{color:#b91c1c}
.live-now{font-size:18px;margin:6px 0} .live-total{font-size:34px;font-weight:700;margin-right:6px}
.sign-in{max-width:420px;margin:40px auto} .sign-in form{display:grid;gap:10px}
.sign-in label{display:grid;gap:4px} .sign-in input{font:inherit;padding:6px 8px}
.problem{color:var(--alert);background:var(--alert-bg);padding:6px 10px;border-radius:6px}
.lead{color:#334155;margin:2px 0 10px}
ul.downloads{columns:3 180px;padding-left:18px}
svg.chart{max-width:100%;height:auto}
@media (max-width:600px){
 header.top{padding:14px 14px} header.top h1{font-size:20px} main{padding:10px 8px}
 section,footer{padding:12px 10px} body{font-size:15px}
 footer dl{grid-template-columns:1fr}
 table{display:block;overflow-x:auto;max-width:100%}
 section{overflow-x:auto} svg.chart{width:900px;max-width:none}  /* charts keep labels readable and scroll */
 .cards,.stats{grid-template-columns:1fr 1fr}
}
@media print{
 header.top nav,section.range,section#live,section#downloads,button{display:none}
 .scroll{overflow:visible}
}
)";

// Sorting of the league table, the date presets and the live occupancy (server-sent events).
constexpr std::string_view kJs = R"(
(function(){
'use strict';
function sortBy(table,th){
  var index=Array.prototype.indexOf.call(th.parentNode.children,th);
  var numeric=th.getAttribute('data-sort')==='number';
  var dir=th.getAttribute('aria-sort')==='descending'?'ascending':'descending';
  th.parentNode.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',dir);
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  function key(row){var c=row.children[index],v=c.getAttribute('data-value');
    if(numeric){var n=parseFloat(v);return isNaN(n)?-Infinity:n;}return (v||c.textContent).toLowerCase();}
  rows.sort(function(a,b){var x=key(a),y=key(b);var r=x<y?-1:x>y?1:0;return dir==='ascending'?r:-r;});
  rows.forEach(function(r){body.appendChild(r);});
}
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th[data-sort]').forEach(function(th){
    th.addEventListener('click',function(){sortBy(table,th);});
  });
});
function iso(d){return d.toISOString().slice(0,10);}
document.querySelectorAll('.presets button').forEach(function(b){
  b.addEventListener('click',function(){
    var form=b.closest('form'),to=new Date(),from=new Date();
    if(b.hasAttribute('data-month')){from=new Date(Date.UTC(to.getFullYear(),to.getMonth(),1));}
    else{from.setDate(to.getDate()-Number(b.getAttribute('data-days'))+1);}
    form.querySelector('[name=from]').value=iso(from);form.querySelector('[name=to]').value=iso(to);form.submit();
  });
});
var live=document.getElementById('live');
if(live&&window.EventSource){
  var site=live.getAttribute('data-site'),updates=0;
  var source=new EventSource('/live'+(site?'?site='+encodeURIComponent(site):''));
  var status=document.getElementById('live-status'),body=document.querySelector('#live-table tbody');
  function cell(tag,text){var c=document.createElement(tag);c.textContent=text;return c;}
  function count(v){return v===null||v===undefined?'\u2013':String(v);}
  source.onmessage=function(e){
    var data=JSON.parse(e.data);updates++;
    body.textContent='';
    data.sites.forEach(function(s){
      if(site){
        document.getElementById('live-total').textContent=count(s.total);
        Object.keys(s.zones).sort().forEach(function(z){var tr=document.createElement('tr');
          tr.appendChild(cell('th',z));tr.appendChild(cell('td',count(s.zones[z])));body.appendChild(tr);});
        if(s.total===null){var tr=document.createElement('tr');var td=cell('td','no sample in the last 15 minutes');
          td.colSpan=2;td.className='no-data';tr.appendChild(td);body.appendChild(tr);}
      }else{
        var tr=document.createElement('tr');tr.appendChild(cell('th',s.site));tr.appendChild(cell('td',count(s.total)));
        tr.appendChild(cell('td',Object.keys(s.zones).sort().map(function(z){return z+' '+s.zones[z];}).join(', ')||'\u2013'));
        tr.appendChild(cell('td',s.at?s.at.slice(11,19)+' UTC':'none in 15 min'));body.appendChild(tr);
      }
    });
    live.setAttribute('data-updates',String(updates));
    status.textContent='updated '+data.at.slice(11,19)+' UTC';
  };
  source.onerror=function(){status.textContent='live updates paused: reconnecting';};
  window.addEventListener('beforeunload',function(){source.close();});
}
})();
)";

const Asset kCssAsset{"text/css; charset=utf-8", kCss};
const Asset kJsAsset{"text/javascript; charset=utf-8", kJs};

}  // namespace

const Asset* find_asset(std::string_view name) {
  if (name == "dashboard.css") return &kCssAsset;
  if (name == "dashboard.js") return &kJsAsset;
  return nullptr;
}

}  // namespace footfall::aggregator::serve
