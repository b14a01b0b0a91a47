// Fresh copies of the fixtures for each test (tests change them).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const read = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));

module.exports = {
	status: () => read('status.json'),
	uci: () => read('uci-rail.json')
};
