package portal

import (
	"context"
	"net/http"
)

// PKI is the public material of Sceau's CA, served on both listeners.
type PKI interface {
	RootsPEM() ([]byte, error)
	CRL(ctx context.Context) ([]byte, error)
}

func (s *Server) rootsPEM(w http.ResponseWriter, r *http.Request) {
	b, err := s.deps.PKI.RootsPEM()
	if err != nil {
		s.log.Warn("serving roots", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="sceau-root.crt"`)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

func (s *Server) crl(w http.ResponseWriter, r *http.Request) {
	b, err := s.deps.PKI.CRL(r.Context())
	if err != nil {
		s.log.Error("serving the CRL", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
