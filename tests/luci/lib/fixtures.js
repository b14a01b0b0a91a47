// Fresh copies of the fixtures for each test (tests change them).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const read = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));

module.exports = {
	status: () => read('status.json'),
	/* ubus rail history by span, as createEnv takes it (24h: the 1h document will do). */
	history: () => ({ '10m': read('history-10m.json'), '1h': read('history-1h.json'), '24h': read('history-1h.json') }),
	uci: () => read('uci-rail.json')
};
