// Stand-in for LuCI's ui module, the parts the views use: createHandlerFn (a click handler
// calling a view method with bound arguments, as ui.js does) and addNotification, which
// records what a view tells the user.
'use strict';

function makeUi() {
	return {
		notifications: [],
		createHandlerFn(ctx, fn, ...args) {
			const method = typeof fn === 'function' ? fn : ctx[fn];
			if (typeof method !== 'function')
				throw new TypeError(`createHandlerFn: no method ${fn}`);
			// Like LuCI, the promise is kept on the event target so a test can wait for it.
			return (ev) => { ev.currentTarget.__pending = Promise.resolve(method.call(ctx, ...args, ev)); };
		},
		addNotification(title, children, cls) {
			const node = { title, children, cls };
			this.notifications.push(node);
			return node;
		}
	};
}

module.exports = { makeUi };
