// Stand-in for LuCI's baseclass (LuCI.baseclass): `extend(props)` makes a subclass whose
// constructor runs `__init__` (its own or inherited) and must be called with `new`;
// `isSubclass(C)` is true only for a strict descendant, as in luci.js (a class is not its
// own subclass).
'use strict';

function makeClass() {
	function extend(Parent, props) {
		function Sub(...args) {
			if (!(this instanceof Sub))
				throw new TypeError('Constructor must not be called without "new"');
			if (typeof this.__init__ === 'function')
				this.__init__(...args);
		}
		Sub.prototype = Object.create(Parent ? Parent.prototype : Object.prototype);
		Object.defineProperties(Sub.prototype, Object.getOwnPropertyDescriptors(props));
		Sub.prototype.constructor = Sub;
		Sub.extend = (more) => extend(Sub, more);
		Sub.isSubclass = (other) => typeof other === 'function' && other.prototype instanceof Sub;
		return Sub;
	}
	return extend(null, {});
}

module.exports = { makeClass };
