// What the views should print for a value of the status document, worked out here
// independently of rail.js, so tests can follow any fixture (it is regenerated from
// `rail status --json`) and still catch a view that shows the wrong field.
'use strict';

const LABELS = { 'up': 'Up', 'suspect': 'Suspect', 'recovering': 'Recovering', 'down': 'Down',
	'no-device': 'No device', 'maintenance': 'Maintenance', 'disabled': 'Disabled' };

module.exports = {
	label: (state) => LABELS[state],
	// tests run with TZ=UTC
	time: (unix) => new Date(unix * 1000).toISOString().slice(0, 19).replace('T', ' '),
	ms: (v) => (v == null ? '–' : `${v.toFixed(1)} ms`),
	percent: (v) => (Number.isInteger(v) ? `${v} %` : `${v.toFixed(1)} %`),
	mean: (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
};
