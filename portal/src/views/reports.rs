//! Usage reports for one tenant: range and department, summary tiles, two
//! SVG charts (each with a table of its data), the per-visit table with
//! sortable columns and a column chooser, and the CSV export.

use leptos::prelude::*;
use shared::report::{human_duration, visits_per_day, wait_histogram, Summary, VisitRow, VisitStatus};
use shared::tenant::Tenant;

use crate::api;
use crate::widgets::status::ErrorPanel;

#[component]
pub fn Reports(tenant: Tenant, on_back: Callback<()>) -> impl IntoView {
    let range = RwSignal::new("30".to_string());
    let department = RwSignal::new(String::new());
    let today = || String::from(js_sys::Date::new_0().to_iso_string()).chars().take(10).collect::<String>();
    let from = RwSignal::new(today());
    let to = RwSignal::new(today());
    let tenant_id = tenant.id.clone();
    let query = Memo::new(move |_| api::report_query(&range.get(), &from.get(), &to.get(), &department.get()));
    let summary = {
        let id = tenant_id.clone();
        LocalResource::new(move || api::report_summary(id.clone(), query.get()))
    };
    let visits = {
        let id = tenant_id.clone();
        LocalResource::new(move || api::report_visits(id.clone(), query.get()))
    };
    let mut departments: Vec<String> = tenant.fhir_bases.iter().map(|b| b.department.clone()).filter(|d| !d.is_empty()).collect();
    departments.sort();
    departments.dedup();
    let csv_href = {
        let id = tenant_id.clone();
        move || api::report_url(&id, "visits.csv", &query.get())
    };
    view! {
        <section class="reports" aria-labelledby="reports-title">
            <p><button type="button" class="button button-secondary" on:click=move |_| on_back.run(())>"← All tenants"</button></p>
            <h2 id="reports-title">"Usage reports: " {tenant.display_name.clone()}</h2>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <label>"Period "
                    <select on:change=move |ev| range.set(event_target_value(&ev)) prop:value=move || range.get()>
                        <option value="7">"Last 7 days"</option>
                        <option value="30">"Last 30 days"</option>
                        <option value="90">"Last 90 days"</option>
                        <option value="custom">"Custom dates"</option>
                    </select>
                </label>
                {move || (range.get() == "custom").then(|| view! {
                    <label>"From " <input type="date" prop:value=move || from.get() on:change=move |ev| from.set(event_target_value(&ev))/></label>
                    <label>"To " <input type="date" prop:value=move || to.get() on:change=move |ev| to.set(event_target_value(&ev))/></label>
                })}
                <label>"Department "
                    <select on:change=move |ev| department.set(event_target_value(&ev)) prop:value=move || department.get()>
                        <option value="">"All departments"</option>
                        {departments.into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <a class="button" href=csv_href download="">"Export CSV"</a>
            </form>
            {move || match summary.get() {
                None => view! { <p role="status">"Loading the summary…"</p> }.into_any(),
                Some(Ok(s)) => view! { <Tiles summary=s.summary/> }.into_any(),
                Some(Err(failure)) => view! { <ErrorPanel title="Could not load the summary" failure/> }.into_any(),
            }}
            {move || match visits.get() {
                None => view! { <p role="status">"Loading the visits…"</p> }.into_any(),
                Some(Ok(v)) => view! { <VisitsPanel rows=v.visits from_ms=v.from_ms to_ms=v.to_ms/> }.into_any(),
                Some(Err(failure)) => view! { <ErrorPanel title="Could not load the visits" failure/> }.into_any(),
            }}
        </section>
    }
}

fn wait_text(ms: Option<i64>) -> String {
    ms.map(human_duration).unwrap_or_else(|| "–".into())
}

#[component]
fn Tiles(summary: Summary) -> impl IntoView {
    let launch_rate = if summary.launches == 0 {
        "–".to_string()
    } else {
        format!("{:.0} %", 100.0 * f64::from(summary.launches_ok) / f64::from(summary.launches))
    };
    let tiles = [
        ("Visits", summary.visits.to_string()),
        ("Completed", summary.completed.to_string()),
        ("No-shows", summary.no_shows.to_string()),
        ("Median lobby wait", wait_text(summary.lobby_wait_median_ms)),
        ("90th percentile wait", wait_text(summary.lobby_wait_p90_ms)),
        ("Median duration", wait_text(summary.duration_median_ms)),
        ("Launch success", launch_rate),
        ("Texts sent", summary.sms_sent.to_string()),
    ];
    view! {
        <ul class="tiles" aria-label="Summary">
            {tiles.into_iter().map(|(label, value)| view! {
                <li class="tile"><span class="tile-value">{value}</span><span class="tile-label">{label}</span></li>
            }).collect_view()}
        </ul>
    }
}

/// A bar chart in SVG with the same figures as a table beside it.
#[component]
fn BarChart(id: &'static str, title: &'static str, unit: &'static str, bars: Vec<(String, u32)>) -> impl IntoView {
    const W: f64 = 640.0;
    const H: f64 = 180.0;
    const PAD: f64 = 24.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as f64;
    let slot = (W - 2.0 * PAD) / n;
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let h = (H - 2.0 * PAD) * f64::from(*v) / f64::from(max);
            let x = PAD + i as f64 * slot + slot * 0.1;
            view! {
                <rect class="bar" x=format!("{x:.1}") y=format!("{:.1}", H - PAD - h) width=format!("{:.1}", slot * 0.8) height=format!("{h:.1}")>
                    <title>{format!("{label}: {v} {unit}")}</title>
                </rect>
            }
        })
        .collect_view();
    let first = bars.first().map(|b| b.0.clone()).unwrap_or_default();
    let last = bars.last().map(|b| b.0.clone()).unwrap_or_default();
    let rows = bars.iter().map(|(l, v)| view! { <tr><th scope="row">{l.clone()}</th><td class="num">{*v}</td></tr> }).collect_view();
    let (t1, t2, t3) = (format!("{id}-title"), format!("{id}-title"), format!("{id}-title"));
    view! {
        <figure class="chart" aria-labelledby=t1>
            <figcaption id=t2>{title}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-labelledby=t3 class="chart-svg">
                <line class="axis" x1=PAD y1=H - PAD x2=W - PAD y2=H - PAD/>
                {rects}
                <text class="axis-label" x=PAD y=H - 6.0>{first}</text>
                <text class="axis-label" x=W - PAD y=H - 6.0 text-anchor="end">{last}</text>
                <text class="axis-label" x=PAD y=14.0>{format!("max {max} {unit}")}</text>
            </svg>
            <details>
                <summary>"Show the figures as a table"</summary>
                <table class="data"><caption>{title}</caption><thead><tr><th scope="col">""</th><th scope="col" class="num">{unit}</th></tr></thead><tbody>{rows}</tbody></table>
            </details>
        </figure>
    }
}

fn day_label(ms: i64) -> String {
    String::from(js_sys::Date::new(&(ms as f64).into()).to_iso_string()).chars().take(10).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Day,
    Department,
    Status,
    Wait,
    Duration,
    Attendees,
    Texts,
}

const COLS: [(Col, &str); 7] = [
    (Col::Day, "Scheduled"),
    (Col::Department, "Department"),
    (Col::Status, "Status"),
    (Col::Wait, "Lobby wait"),
    (Col::Duration, "Duration"),
    (Col::Attendees, "Peak attendees"),
    (Col::Texts, "Texts sent"),
];

fn status_word(s: VisitStatus) -> &'static str {
    match s {
        VisitStatus::Completed => "completed",
        VisitStatus::NoShow => "no-show",
        VisitStatus::Open => "open",
    }
}

fn cell(r: &VisitRow, c: Col) -> String {
    match c {
        Col::Day => r.scheduled_start_ms.map(day_label).unwrap_or_default(),
        Col::Department => r.department.clone(),
        Col::Status => status_word(r.metrics.status).into(),
        Col::Wait => wait_text(r.metrics.lobby_wait_ms),
        Col::Duration => wait_text(r.metrics.duration_ms),
        Col::Attendees => r.metrics.peak_attendees.to_string(),
        Col::Texts => r.metrics.sms_sent.to_string(),
    }
}

fn sort_rows(rows: &mut [VisitRow], c: Col, ascending: bool) {
    rows.sort_by(|a, b| {
        let o = match c {
            Col::Day => a.scheduled_start_ms.cmp(&b.scheduled_start_ms),
            Col::Department => a.department.cmp(&b.department),
            Col::Status => status_word(a.metrics.status).cmp(status_word(b.metrics.status)),
            Col::Wait => a.metrics.lobby_wait_ms.cmp(&b.metrics.lobby_wait_ms),
            Col::Duration => a.metrics.duration_ms.cmp(&b.metrics.duration_ms),
            Col::Attendees => a.metrics.peak_attendees.cmp(&b.metrics.peak_attendees),
            Col::Texts => a.metrics.sms_sent.cmp(&b.metrics.sms_sent),
        };
        if ascending {
            o
        } else {
            o.reverse()
        }
    });
}

#[component]
fn VisitsPanel(rows: Vec<VisitRow>, from_ms: i64, to_ms: i64) -> impl IntoView {
    let per_day: Vec<(String, u32)> = visits_per_day(&rows, from_ms, to_ms).into_iter().map(|(d, n)| (day_label(d), n)).collect();
    let waits: Vec<(String, u32)> = wait_histogram(&rows).into_iter().map(|(l, n)| (l.to_string(), n)).collect();
    let sort = RwSignal::new((Col::Day, true));
    let shown = RwSignal::new(COLS.iter().map(|c| c.0).collect::<Vec<Col>>());
    let rows = StoredValue::new(rows);
    let header = move || {
        let (by, asc) = sort.get();
        COLS.iter()
            .filter(|(c, _)| shown.get().contains(c))
            .map(|&(c, label)| {
                let aria = if by == c { if asc { "ascending" } else { "descending" } } else { "none" };
                view! {
                    <th scope="col" aria-sort=aria>
                        <button type="button" class="sort" on:click=move |_| sort.update(|s| *s = if s.0 == c { (c, !s.1) } else { (c, true) })>{label}</button>
                    </th>
                }
            })
            .collect_view()
    };
    let body = move || {
        let (by, asc) = sort.get();
        let cols = shown.get();
        let mut list = rows.get_value();
        sort_rows(&mut list, by, asc);
        list.into_iter()
            .map(|r| {
                let cells = cols.iter().map(|&c| view! { <td>{cell(&r, c)}</td> }).collect_view();
                view! { <tr>{cells}</tr> }
            })
            .collect_view()
    };
    let chooser = COLS
        .iter()
        .map(|&(c, label)| {
            view! {
                <label class="choice">
                    <input type="checkbox" prop:checked=move || shown.get().contains(&c)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            shown.update(|s| if on { if !s.contains(&c) { s.push(c); s.sort_by_key(|x| COLS.iter().position(|y| y.0 == *x)); } } else { s.retain(|x| *x != c); });
                        }/>
                    " " {label}
                </label>
            }
        })
        .collect_view();
    let count = rows.with_value(Vec::len);
    view! {
        <div class="charts">
            <BarChart id="per-day" title="Visits per day" unit="visits" bars=per_day/>
            <BarChart id="waits" title="Lobby wait" unit="visits" bars=waits/>
        </div>
        <fieldset class="columns"><legend>"Columns"</legend>{chooser}</fieldset>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Visits table">
            <table class="data visits">
                <caption>{format!("Visits ({count})")}</caption>
                <thead><tr>{header}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
