//! The history on a simulated clock: unix seconds passed in, rounds as counters.

use super::view::Span;
use super::*;

/// 2026-12-06 00:00:00 UTC: a day boundary, so tests can reason in days.
const T0: u64 = 1_796_515_200;

/// Counters of a tracker whose every round is `probes` probes, `lost` of them lost, the
/// replies at `rtt_ms` each.
struct Probe(Totals);

impl Probe {
    fn round(&mut self, probes: u64, lost: u64, rtt_ms: &[u64]) -> Totals {
        for i in 0..probes {
            if i < lost {
                self.0.lost();
            } else {
                self.0.reply(rtt_ms[i as usize % rtt_ms.len()] * 1000);
            }
        }
        self.0
    }
}

fn up_series() -> Series {
    Series::new(T0, State::Up)
}

#[test]
fn a_round_becomes_a_second_with_mean_spread_and_loss() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    s.round(T0 + 1, p.round(4, 1, &[10, 20, 30]));
    s.round(T0 + 2, p.round(2, 0, &[40]));
    s.advance(T0 + 3);
    let v = s.view(Span::TenMinutes);
    assert_eq!(v.rtt_us.len(), 4, "T0..=T0+3");
    assert_eq!(v.start, T0);
    assert_eq!(v.step, 1);
    assert_eq!(v.rtt_us, [-1, 20_000, 40_000, -1]);
    // 10, 20, 30 ms: standard deviation 8.165 ms, kept to 0.1 ms.
    assert_eq!(v.sd_us, [-1, 8_200, 0, -1]);
    assert_eq!(v.loss_permille, [-1, 250, 0, -1]);
    assert_eq!(v.states, [(T0, "up")]);
    assert_eq!(v.summary.availability, Some(100.0));
}

#[test]
fn rounds_in_one_second_share_a_sample() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    s.round(T0 + 1, p.round(1, 0, &[10]));
    s.round(T0 + 1, p.round(1, 1, &[10]));
    s.advance(T0 + 2);
    let v = s.view(Span::TenMinutes);
    assert_eq!(
        (v.rtt_us[1], v.loss_permille[1]),
        (10_000, 502),
        "1 of 2 lost"
    );
}

#[test]
fn ten_minutes_of_seconds_and_24_hours_of_minutes_stay_within_the_rings() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    // 25 hours of rounds, each second, RTT rising by 1 ms per hour.
    for t in 1..=25 * 3600 {
        let rtt = 10 + t / 3600;
        s.round(T0 + t, p.round(2, 0, &[rtt]));
    }
    let now = T0 + 25 * 3600;
    let ten = s.view(Span::TenMinutes);
    assert_eq!(ten.rtt_us.len(), 600);
    assert_eq!(ten.start, now - 599);
    assert_eq!(ten.rtt_us[598], 34_000);
    assert_eq!(ten.rtt_us[599], 35_000, "the open second");
    let day = s.view(Span::Day);
    assert_eq!(day.rtt_us.len(), 1440);
    assert_eq!(day.step, 60);
    assert_eq!(
        day.start,
        now - 1439 * 60,
        "the open minute is the last sample"
    );
    assert_eq!(
        day.rtt_us[0], 11_000,
        "the oldest minute is 24 h back: hour 1"
    );
    assert!(day.loss_permille.iter().all(|&l| l == 0));
    let hour = s.view(Span::Hour);
    assert_eq!(hour.rtt_us.len(), 60);
    assert_eq!(hour.rtt_us[0], 34_000);
    assert_eq!(s.fine.len(), FINE);
    assert_eq!(s.minutes.len(), 1440);
    // One day closed and today: both fully up.
    let dates: Vec<&str> = day.days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-12-06", "2026-12-07"]);
    assert_eq!(day.days[0].up, 86_400);
    assert_eq!(day.days[0].availability, Some(100.0));
}

#[test]
fn an_outage_counts_with_its_length_in_the_span_and_the_day() {
    let mut s = up_series();
    s.set_state(T0 + 100, State::Suspect);
    s.set_state(T0 + 102, State::Down);
    s.set_state(T0 + 220, State::Recovering);
    s.set_state(T0 + 225, State::Up);
    s.set_state(T0 + 400, State::Down);
    s.advance(T0 + 459);
    let v = s.view(Span::TenMinutes);
    assert_eq!(v.summary.outages, 2);
    assert_eq!(v.summary.longest, 123, "102 to 225");
    // Out of service: 102..=225 (a second keeps its worst state) and 400..=459.
    assert_eq!(v.summary.down, 124 + 60);
    assert_eq!(v.summary.up, 460 - 184);
    assert_eq!(v.summary.availability, Some(60.0));
    // Runs of the worst state per second: a better state shows from the next second.
    let states: Vec<(u64, &str)> = v.states.iter().map(|(t, s)| (t - T0, *s)).collect();
    assert_eq!(
        states,
        [
            (0, "up"),
            (100, "suspect"),
            (102, "down"),
            (221, "recovering"),
            (226, "up"),
            (400, "down")
        ]
    );
    let today = v.days.last().unwrap();
    assert_eq!((today.outages, today.down), (2, 184));
    assert_eq!(today.longest, 123);
    // The hour view: minutes keep their worst state and the seconds up and down.
    let h = s.view(Span::Hour);
    assert_eq!(h.summary.down, 184);
    assert_eq!(h.summary.outages, 2);
    let minutes: Vec<&str> = h.states.iter().map(|&(_, s)| s).collect();
    assert_eq!(
        minutes,
        ["up", "down", "up", "down"],
        "no minutes before the start"
    );
}

#[test]
fn an_outage_still_going_counts_up_to_now() {
    let mut s = up_series();
    s.set_state(T0 + 10, State::NoDevice);
    s.advance(T0 + 70);
    let v = s.view(Span::TenMinutes);
    assert_eq!((v.summary.outages, v.summary.longest), (1, 60));
    assert_eq!(v.days[0].longest, 60);
    assert_eq!(v.state, "no-device");
}

#[test]
fn starting_without_a_device_is_no_outage() {
    let mut s = Series::new(T0, State::NoDevice);
    s.set_state(T0 + 2, State::Up);
    s.advance(T0 + 10);
    let v = s.view(Span::TenMinutes);
    assert_eq!(v.summary.outages, 0);
    // A second keeps its worst state: the one it came up in counts as out.
    assert_eq!((v.summary.up, v.summary.down), (8, 3));
}

#[test]
fn a_reloaded_tracker_counting_from_zero_is_not_a_negative_sample() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    s.round(T0 + 1, p.round(10, 0, &[10]));
    let mut fresh = Probe(Totals::default());
    s.round(T0 + 2, fresh.round(2, 1, &[30]));
    s.advance(T0 + 3);
    let v = s.view(Span::TenMinutes);
    assert_eq!(&v.rtt_us[1..3], [10_000, 30_000]);
    assert_eq!(
        v.loss_permille[2], 502,
        "50 %, kept in 0.6 % steps above 10 %"
    );
}

#[test]
fn a_clock_step_of_more_than_a_week_starts_afresh_and_a_step_back_waits() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    s.round(T0 + 1, p.round(1, 0, &[10]));
    s.round(T0, p.round(1, 0, &[20]));
    s.advance(T0 + 2);
    assert_eq!(
        s.view(Span::TenMinutes).rtt_us[1],
        15_000,
        "held in the open second"
    );
    let later = T0 + 30 * DAY;
    s.round(later, p.round(1, 0, &[20]));
    let v = s.view(Span::Day);
    assert_eq!(v.rtt_us.len(), 1, "only the open minute");
    assert_eq!(v.state, "up");
}

#[test]
fn the_memory_is_fixed_at_start_and_32_series_fit_256_kib() {
    // The rings' samples (docs/history.md, "Memory"): a byte more each is 2 KiB a series.
    assert_eq!(std::mem::size_of::<Fine>(), 5, "a second");
    assert_eq!(std::mem::size_of::<Minute>(), 6, "a minute or two");
    assert_eq!(std::mem::size_of::<Day>(), 20);
    assert_eq!(std::mem::size_of::<Outage>(), 8);
    assert_eq!(FINE * 5 + 1440 * 6 + DAYS * 20 + OUTAGES * 8, 11_908);
    assert_eq!(FINE * 5 + 720 * 6 + DAYS * 20 + OUTAGES * 8, 7_588);
    let entry = std::mem::size_of::<(String, &str, Series)>();
    assert!(entry <= 512, "a series' struct takes {entry} bytes");
    // 16 one-family uplinks keep a sample a minute; so do 21 series, 22 take two minutes.
    assert_eq!(coarse_step(16), 60);
    assert_eq!(coarse_step(21), 60);
    assert_eq!(coarse_step(22), 120);
    assert!(21 * series_bytes(60) <= BUDGET);
    // The worst case within 16 uplinks: 16 dual-stack, 32 series.
    assert_eq!(coarse_step(32), 120);
    let worst = 32 * series_bytes(coarse_step(32));
    assert!(worst <= BUDGET, "32 series take {worst} bytes");

    // Full rings are their capacity exactly: nothing grows after the start.
    let mut h = History::default();
    let wanted: Vec<(String, &'static str)> = (1..=16)
        .flat_map(|i| [(format!("isp{i}"), "ipv4"), (format!("isp{i}"), "ipv6")])
        .collect();
    h.track(&wanted, T0);
    assert_eq!(h.series.capacity(), 32);
    let s = h.series_mut("isp1", "ipv6").unwrap();
    s.set_state(T0, State::Up);
    let mut p = Probe(Totals::default());
    for t in 1..=2 * DAY {
        s.round(T0 + t, p.round(1, 0, &[5]));
        if t % 1000 == 0 {
            s.set_state(T0 + t, State::Down);
            s.set_state(T0 + t + 1, State::Up);
        }
    }
    let lengths = [s.fine.len(), s.minutes.len(), s.days.len(), s.outages.len()];
    assert_eq!(lengths, [FINE, 720, 2, OUTAGES]);
    let capacities = [
        s.fine.capacity(),
        s.minutes.capacity(),
        s.days.capacity(),
        s.outages.capacity(),
    ];
    assert_eq!(capacities, [FINE, 720, DAYS, OUTAGES]);
    let day = s.view(Span::Day);
    assert_eq!((day.step, day.rtt_us.len()), (120, 720));
    assert_eq!(s.view(Span::Hour).rtt_us.len(), 30);
}

#[test]
fn a_coarse_sample_of_two_minutes_keeps_its_seconds_and_worst_state_exact() {
    // Each state a slot can end worst in, with the seconds up and down that allow it.
    for (up, down, state) in [
        (0, 0, NONE),
        (0, 0, DISABLED),
        (120, 0, 1),
        (119, 0, 2),
        (60, 0, DISABLED),
        (0, 120, 3),
        (1, 119, 4),
        (117, 1, 5),
        (50, 50, DISABLED),
    ] {
        let m = Minute::of(&Totals::default(), state, up, down);
        assert_eq!(
            (m.up(), m.down(), m.state()),
            (u64::from(up), u64::from(down), state)
        );
    }
}

#[test]
fn a_series_read_back_from_the_file_is_the_same_and_the_gap_has_no_data() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    for t in 1..=300 {
        s.round(T0 + t, p.round(3, t % 7 / 6, &[12, 14]));
    }
    s.set_state(T0 + 250, State::Down);
    s.set_state(T0 + 280, State::Up);
    let bytes = store::encode([("wan", "ipv4", &s)].into_iter());
    let back = store::decode(&bytes).expect("decodes");
    assert_eq!(back.len(), 1);
    let (name, family, mut r) = back.into_iter().next().unwrap();
    assert_eq!((name.as_str(), family.as_str()), ("wan", "ipv4"));
    assert_eq!(r, s);
    assert!(
        store::decode(&bytes[..bytes.len() - 1]).is_none(),
        "truncated"
    );
    assert!(store::decode(b"RAILHIST0").is_none(), "another version");
    // Stopped at T0+300, started again at T0+400 with the uplink up.
    r.resume(T0 + 400);
    r.set_state(T0 + 400, State::Up);
    r.advance(T0 + 401);
    let v = r.view(Span::TenMinutes);
    let state = |t: u64| {
        v.states
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map(|&(_, s)| s)
    };
    assert_eq!(state(T0 + 299), Some("up"));
    assert_eq!(state(T0 + 350), Some("none"));
    assert_eq!(state(T0 + 400), Some("up"));
    assert_eq!(v.summary.outages, 1, "the one before the stop");
    assert_eq!(v.rtt_us[(T0 + 350 - v.start) as usize], -1);
}

#[test]
fn history_keeps_the_series_the_configuration_names() {
    let mut h = History::default();
    let wanted = |names: &[&str]| -> Vec<(String, &'static str)> {
        names.iter().map(|n| (n.to_string(), "ipv4")).collect()
    };
    h.track(&wanted(&["wan", "lte"]), T0);
    h.series_mut("wan", "ipv4")
        .unwrap()
        .set_state(T0 + 1, State::Up);
    h.track(&wanted(&["wan", "wanb"]), T0 + 5);
    h.advance(T0 + 6);
    let v = h.view(None, None, Span::TenMinutes);
    let names: Vec<&str> = v.interfaces.keys().map(String::as_str).collect();
    assert_eq!(names, ["wan", "wanb"]);
    assert_eq!(
        v.interfaces["wan"]["ipv4"].state, "up",
        "kept across the change"
    );
    assert_eq!(v.now, T0 + 6);
    let one = h.view(Some("wanb"), Some("ipv6"), Span::Hour);
    assert!(one.interfaces.is_empty());
}

#[test]
fn the_text_chart_fits_80_columns_and_marks_loss_and_outages() {
    let mut s = up_series();
    let mut p = Probe(Totals::default());
    for t in 1..600 {
        let lost = u64::from((200..260).contains(&t)) * 2;
        s.round(T0 + t, p.round(4, lost, &[10 + t % 50]));
        if t == 400 {
            s.set_state(T0 + t, State::Down);
        }
        if t == 460 {
            s.set_state(T0 + t, State::Up);
        }
    }
    let mut h = History::default();
    h.track(&[("wan".to_string(), "ipv4")], T0);
    h.restore("wan", "ipv4", s);
    let text = chart::render(&h.view(None, None, Span::TenMinutes));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    assert!(row("loss ").contains('!'), "{text}");
    assert!(row("state ").contains('X'), "{text}");
    assert!(row("state ").contains('='), "{text}");
    assert!(row("rtt ").contains('█'), "{text}");
    assert!(
        text.contains("1 outage(s), down 1m01s, longest 1m00s"),
        "{text}"
    );
}

#[test]
fn dates_are_utc_calendar_days() {
    assert_eq!(view::date(0), "1970-01-01");
    assert_eq!(view::date((T0 / DAY) as u32), "2026-12-06");
    assert_eq!(view::date(11_016), "2000-02-29");
}

#[test]
fn a_minute_keeps_its_spread_and_loss_in_a_byte_each_close_enough() {
    for tenths in [0u16, 1, 127, 128, 500, 2_000, 2_700, 60_000] {
        let back = unspread8(spread8(tenths));
        let err = back.abs_diff(tenths.min(128 + 126 * 20));
        assert!(err <= 10, "{tenths} -> {back}");
    }
    assert_eq!(unspread8(spread8(NO_U16)), NO_U16);
    for permille in [0u16, 2, 99, 100, 333, 1000] {
        let back = unloss8(loss8(Some(permille))).unwrap();
        assert!(back.abs_diff(permille) <= 3, "{permille} -> {back}");
    }
    assert_eq!(
        unloss8(loss8(Some(2))),
        Some(2),
        "a probe lost in 500 still shows"
    );
    assert_eq!(unloss8(loss8(None)), None);
}

#[test]
fn more_outages_than_the_ring_keeps_are_still_counted() {
    let mut s = up_series();
    for k in 0..40u64 {
        s.set_state(T0 + 10 * k + 5, State::Down);
        s.set_state(T0 + 10 * k + 8, State::Up);
    }
    s.advance(T0 + 500);
    let v = s.view(Span::TenMinutes);
    assert_eq!(v.summary.outages, 40);
    assert_eq!(v.days[0].outages, 40);
    assert_eq!(s.outages.len(), OUTAGES);
}

#[test]
fn the_ubus_answer_is_the_json_document_as_blobmsg() {
    // Two uplinks over two days with loss, an outage and a second without a reply: every
    // field, the optional ones present and absent, and a day boundary.
    let mut h = History::default();
    let wanted = [("wan".to_string(), "ipv4"), ("wan".to_string(), "ipv6")];
    h.track(
        &[wanted[0].clone(), wanted[1].clone(), ("lte".into(), "ipv4")],
        T0,
    );
    for (name, family) in &wanted {
        let s = h.series_mut(name, family).unwrap();
        s.set_state(T0, State::Up);
        let mut p = Probe(Totals::default());
        for t in 1..DAY + 200 {
            if t == DAY + 50 {
                s.set_state(T0 + t, State::Down);
            }
            if t % 7 != 0 {
                s.round(T0 + t, p.round(4, u64::from(t % 5 == 0), &[12, 30]));
            }
        }
    }
    for span in Span::ALL {
        let view = h.view(None, None, span);
        let serde_json::Value::Object(doc) = serde_json::to_value(&view).unwrap() else {
            panic!("an object")
        };
        let mut tree = Vec::new();
        crate::blob::encode_table(&crate::blob::table_from_json(&doc), &mut tree);
        let mut answer = h.answer(None, None, span, usize::MAX);
        let mut steps = 1;
        let blob = loop {
            match answer.step(&h) {
                Some(blob) => break blob,
                None => steps += 1,
            }
        };
        assert_eq!(blob, tree, "{span:?}");
        assert_eq!(steps, 4, "a series a step, then the answer");
    }
}

/// The ubus answer of 24 hours of every series, within `limit` bytes.
fn answer(h: &History, limit: usize) -> Vec<u8> {
    let mut answer = h.answer(None, None, Span::Day, limit);
    loop {
        if let Some(blob) = answer.step(h) {
            return blob;
        }
    }
}

#[test]
fn an_answer_too_large_for_one_message_merges_samples_until_it_fits() {
    let mut h = History::default();
    let wanted: Vec<(String, &'static str)> =
        (1..=3).map(|i| (format!("isp{i}"), "ipv4")).collect();
    h.track(&wanted, T0);
    for (name, family) in &wanted {
        let s = h.series_mut(name, family).unwrap();
        s.set_state(T0, State::Up);
        let mut p = Probe(Totals::default());
        for t in 1..=DAY {
            // Minutes alternating between 10 and 20 ms; a minute down at 12:00.
            let rtt = if t / MINUTE % 2 == 0 { 10 } else { 20 };
            match t {
                43_200 => s.set_state(T0 + t, State::Down),
                43_260 => s.set_state(T0 + t, State::Up),
                _ => {}
            }
            s.round(T0 + t, p.round(1, 0, &[rtt]));
        }
    }
    let full = h.view(None, None, Span::Day);
    let whole = answer(&h, usize::MAX);
    assert_eq!(answer(&h, whole.len()), whole, "fits: as it is");

    let half = answer(&h, whole.len() / 2);
    assert!(half.len() <= whole.len() / 2, "{} bytes", half.len());
    let table = crate::blob::decode_table(&half).unwrap();
    let doc = crate::blob::table_to_json(&table);
    let small = &doc["interfaces"]["isp1"]["ipv4"];
    let step = small["step"].as_u64().unwrap();
    assert!(step >= 120 && step % 60 == 0, "step {step}");
    let rtt = small["rtt_us"].as_array().unwrap();
    let samples = full.interfaces["isp1"]["ipv4"].rtt_us.len();
    assert_eq!(
        rtt.len(),
        samples.div_ceil(step as usize / 60),
        "every sample covered"
    );
    assert_eq!(small["start"], full.interfaces["isp1"]["ipv4"].start);
    // An even number of minutes of 10 and 20 ms: a 15 ms mean with a 5 ms spread.
    let one = full.interfaces["isp1"]["ipv4"].rtt_us[..2].to_vec();
    assert_eq!(one.iter().sum::<i64>(), 30_000, "{one:?}");
    let two = answer(&h, whole.len() * 2 / 3);
    let doc = crate::blob::table_to_json(&crate::blob::decode_table(&two).unwrap());
    let two = &doc["interfaces"]["isp1"]["ipv4"];
    assert_eq!(two["step"], 120);
    assert_eq!(
        (two["rtt_us"][0].as_i64(), two["sd_us"][0].as_i64()),
        (Some(15_000), Some(5_000))
    );
    let states: Vec<&str> = small["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap())
        .collect();
    assert_eq!(states, ["up", "down", "up"], "the outage still shows");
    // The summary is the samples' as kept, whatever the resolution.
    let summary = serde_json::to_value(&full.interfaces["isp1"]["ipv4"].summary).unwrap();
    assert_eq!(small["summary"], summary);
}
#[test]
fn a_reload_past_the_budget_keeps_the_seconds_and_starts_the_coarse_ring_afresh() {
    let names = |n: usize| -> Vec<(String, &'static str)> {
        (1..=n).map(|i| (format!("isp{i}"), "ipv4")).collect()
    };
    let mut h = History::default();
    h.track(&names(21), T0);
    let mut p = Probe(Totals::default());
    for t in 1..=600 {
        let s = h.series_mut("isp1", "ipv4").unwrap();
        s.round(T0 + t, p.round(1, 0, &[7]));
    }
    let file = store::encode(h.iter());
    h.track(&names(22), T0 + 600);
    let v = h.view(Some("isp1"), None, Span::TenMinutes);
    assert_eq!(
        v.interfaces["isp1"]["ipv4"].rtt_us[0], 7_000,
        "seconds kept"
    );
    let v = h.view(Some("isp1"), None, Span::Hour);
    let hour = &v.interfaces["isp1"]["ipv4"];
    assert_eq!(
        (hour.step, hour.rtt_us.len()),
        (120, 1),
        "only the open slot"
    );
    // A file of minutes read back under two-minute samples: the same.
    for (name, family, series) in store::decode(&file).unwrap() {
        h.restore(&name, family.as_str(), series);
    }
    let s = h.series_mut("isp1", "ipv4").unwrap();
    assert_eq!((s.step, s.minutes.len(), s.fine.len()), (120, 0, 600));
}

#[test]
fn a_full_ring_overwrites_its_oldest_and_never_grows() {
    let mut r = Ring::new(3);
    for x in 1..=5u8 {
        r.push(x);
    }
    assert_eq!(r.iter().copied().collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!((r.len(), r.capacity(), r.back()), (3, 3, Some(&5)));
    *r.back_mut().unwrap() = 6;
    let mut same = Ring::new(3);
    for x in [3, 4, 6] {
        same.push(x);
    }
    assert_eq!(r, same, "equal wherever the head is");
    same.push(7);
    assert_ne!(r, same);
}
