// Stand-in for LuCI's baseclass (LuCI.baseclass): `extend(props)` makes a subclass whose
// constructor runs `__init__`; `isSubclass` tells whether a constructor descends from it.
'use strict';

function makeClass() {
	function extend(Parent, props) {
		function Sub(...args) {
			if (typeof this.__init__ === 'function')
				this.__init__(...args);
		}
		Sub.prototype = Object.create(Parent ? Parent.prototype : Object.prototype);
		Object.defineProperties(Sub.prototype, Object.getOwnPropertyDescriptors(props));
		Sub.prototype.constructor = Sub;
		Sub.extend = (more) => extend(Sub, more);
		Sub.isSubclass = (other) => typeof other === 'function' &&
			(other === Sub || other.prototype instanceof Sub);
		return Sub;
	}
	return extend(null, {});
}

module.exports = { makeClass };
