package portal

import (
	"fmt"
	"net/http"
	"strings"
)

// downloadReceipt sends the receipt of a deposit as a UTF-8 text file the
// depositor can keep with their own records.
func (s *Server) downloadReceipt(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, docID, ok := s.caseAndDoc(w, r)
	if !ok {
		return
	}
	rc, err := s.deps.Documents.Receipt(r.Context(), caseID, docID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "RÉCÉPISSÉ DE DÉPÔT — Sceau\r\n\r\n")
	fmt.Fprintf(&b, "Expertise      : %s (RG %s)\r\n", rc.CaseName, rc.RGNumber)
	fmt.Fprintf(&b, "Dossier        : %s\r\n", rc.FolderName)
	fmt.Fprintf(&b, "Document       : %s (%s)\r\n", rc.FileName, kindLabels[rc.Kind])
	fmt.Fprintf(&b, "Taille         : %d octets\r\n", rc.Size)
	fmt.Fprintf(&b, "SHA-256        : %s\r\n", rc.SHA256)
	if rc.CopyFileName != "" {
		fmt.Fprintf(&b, "Copie jointe   : %s, %d octets, SHA-256 %s\r\n", rc.CopyFileName, rc.CopySize, rc.CopySHA256)
	}
	fmt.Fprintf(&b, "Déposé par     : %s (%s)\r\n", rc.DepositorName, participantRoleLabels[rc.DepositorRole])
	fmt.Fprintf(&b, "Certificat     : %s, numéro de série %s\r\n", rc.CertificateIssuer, rc.CertificateSerial)
	fmt.Fprintf(&b, "Date du dépôt  : %s (heure de Paris) — %s UTC\r\n",
		rc.DepositedAt.In(paris).Format("02/01/2006 15:04:05"), rc.DepositedAt.UTC().Format("2006-01-02T15:04:05Z"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="recepisse-%d.txt"`, rc.DocumentID))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write([]byte(b.String()))
}
