package portal

import "github.com/gorilla/mux"

// apiCertificateOrders is where the certificate orders of issue 7 join the
// JSON API, once the retrieval counter's orders exist. Mount them on r
// (already behind the API guard, the gate and the account middleware),
// under /cases/{case:[0-9]+}/orders, calling the same Orders interface as
// the HTML pages; answer errors with s.problem / s.apiStoreError, read
// bodies with s.decodeJSON, paginate with s.pageOf and paginate, and
// describe every new route in openapi.json (TestAPIRoutesAreDocumented
// fails until it is).
func (s *Server) apiCertificateOrders(r *mux.Router) {
	_ = r
}
