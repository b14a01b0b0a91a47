//! `rail history` for people: each uplink and family as a compact text chart within 80
//! columns: latency as a sparkline, loss and the state below it, then the summary.

use super::view::{SeriesView, Service, View};
use std::fmt::Write;

/// Chart columns (the labels take 7 more).
pub const WIDTH: usize = 72;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Seconds as people read a duration: 45s, 4m12s, 3h05m.
pub fn duration(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

fn ms(us: i64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// Sample indices of each chart column: the samples are shared out evenly.
fn columns(n: usize) -> Vec<std::ops::Range<usize>> {
    let cols = WIDTH.min(n.max(1));
    (0..cols)
        .map(|c| c * n / cols..((c + 1) * n / cols).max(c * n / cols + 1).min(n))
        .collect()
}

/// A state's mark in the state row: up, on the way (suspect, recovering), out.
fn mark(state: &str) -> char {
    match state {
        "up" => '=',
        "suspect" | "recovering" => '~',
        "down" | "no-device" => 'X',
        "disabled" => '.',
        _ => ' ',
    }
}

/// The worst state of sample `i` from the runs.
fn state_at(v: &SeriesView, i: usize) -> &str {
    let t = v.start + i as u64 * v.step;
    v.states
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map_or("none", |&(_, s)| s)
}

fn rank(c: char) -> u8 {
    match c {
        'X' => 4,
        '~' => 3,
        '=' => 2,
        '.' => 1,
        _ => 0,
    }
}

pub fn render_series(out: &mut String, name: &str, family: &str, span: &str, v: &SeriesView) {
    let s = &v.summary;
    let _ = writeln!(out, "{name} {family}: {}, {span}: {}", v.state, service(s));
    let cols = columns(v.rtt_us.len());
    let rtt: Vec<Option<i64>> = cols
        .iter()
        .map(|r| {
            let got: Vec<i64> = v.rtt_us[r.clone()]
                .iter()
                .copied()
                .filter(|&x| x >= 0)
                .collect();
            (!got.is_empty()).then(|| got.iter().sum::<i64>() / got.len() as i64)
        })
        .collect();
    let (lo, hi) = rtt
        .iter()
        .flatten()
        .fold((i64::MAX, 0), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let spark: String = rtt
        .iter()
        .map(|x| match x {
            None => ' ',
            Some(x) if hi > lo => BARS[((x - lo) * 7 / (hi - lo)) as usize],
            Some(_) => BARS[0],
        })
        .collect();
    let loss: String = cols
        .iter()
        .map(|r| {
            match v.loss_permille[r.clone()]
                .iter()
                .max()
                .copied()
                .unwrap_or(-1)
            {
                ..=0 => ' ',
                1..50 => '.',
                50..200 => ':',
                _ => '!',
            }
        })
        .collect();
    let state: String = cols
        .iter()
        .map(|r| {
            r.clone()
                .map(|i| mark(state_at(v, i)))
                .max_by_key(|&c| rank(c))
                .unwrap_or(' ')
        })
        .collect();
    let _ = writeln!(out, "rtt    {spark}");
    let _ = writeln!(out, "loss   {loss}");
    let _ = writeln!(out, "state  {state}");
    let rtt_range = if hi >= lo {
        format!("{}..{}", ms(lo), ms(hi))
    } else {
        "-".into()
    };
    let _ = writeln!(
        out,
        "       rtt {rtt_range} (mean {}), loss {:.1}%",
        s.rtt_us.map_or("-".into(), ms),
        s.loss_permille.unwrap_or(0) as f64 / 10.0,
    );
    for d in &v.days {
        let _ = writeln!(out, "       {}: {}", d.date, service(d));
    }
}

/// Availability, outages and the longest, in words.
fn service(s: &Service) -> String {
    let avail = s
        .availability
        .map_or("-".to_string(), |a| format!("{a:.2}%"));
    format!(
        "available {avail}, {} outage(s), down {}, longest {}",
        s.outages,
        duration(s.down),
        duration(s.longest)
    )
}

/// The whole view, with a legend.
pub fn render(v: &View) -> String {
    let mut out = String::new();
    for (name, families) in &v.interfaces {
        for (family, s) in families {
            render_series(&mut out, name, family, &v.span, s);
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "loss . <5% : <20% ! more    state = up  ~ suspect, recovering  X down"
    );
    out
}
