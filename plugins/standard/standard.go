// Package standard registers every built-in plugin. cmd/bridge imports it
// for its side effect:
//
//	import _ "mlsbridge/plugins/standard"
package standard

import (
	// Each registers its plugin in init.
	_ "mlsbridge/plugins/flood"
	_ "mlsbridge/plugins/links"
	_ "mlsbridge/plugins/pending"
	_ "mlsbridge/plugins/strikes"
	_ "mlsbridge/plugins/welcome"
	_ "mlsbridge/plugins/wordfilter"
)
