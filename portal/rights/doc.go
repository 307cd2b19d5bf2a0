// Package rights is the rights matrix of the case spaces: who may read and
// who may deposit in which folder of an expertise, in which case state; who
// may lock a document; who may change the state of a case.
//
// It is pure policy (standard library only, no database, no net/http) and
// it is the only place these rules are written. The store enforces it
// inside its queries: [FilterFor] turns a decision into a [Filter] whose
// clauses become a WHERE condition, so a handler that forgets a check still
// gets only what the participant is entitled to. [CanRead] and [CanDeposit]
// evaluate the same filter on one folder, for the checks a query cannot
// express (a deposit is an insert) and for tests.
//
// Everything fails closed: an inactive participant, an unknown role, kind,
// mode, state or action, a party member with no party or two, a party
// folder without its party, all get nothing.
//
// # Participant roles
//
// The rights depend on what a person is in one case (a participant role),
// not on the account role alone. [ParticipantRoles] says which account may
// hold which participant role:
//
//	account role   participant roles
//	expert         expert (the owner, who created the case), co_expert, sapiteur (picked from the directory)
//	sapiteur       sapiteur (an outside technician created by the expert)
//	magistrate     magistrate
//	clerk          clerk
//	lawyer         lawyer (of one or several parties: Subject.PartyIDs)
//	party_member   party_member (intervenant of exactly one party)
//
// A party is not a participant: people act for it (its lawyers and
// members). The magistrate "en charge du contrôle de l'expertise" is a flag
// on the participant, not a role: being the supervising judge changes who
// is notified, not what can be read or deposited, so every magistrate of the
// case has the same rights.
//
// # Folder kinds
//
// The default tree: Expert (Désignation, Convocations, Notes aux parties,
// Pré-rapport), one folder per party with Dires and Pièces, Greffe
// (Communication vers le greffe, Rapport définitif) and Magistrat. A folder
// the expert adds has kind expert_subfolder; a folder marked confidential
// has kind confidential wherever it sits in the tree (the store must give
// it that kind, whatever its parent).
//
// # The matrix
//
// States: c = creation (en création), p = in_progress (en cours),
// z = paused (en pause), f = finished (terminée), a = archived (archivée).
// A READ cell lists the states in which the role reads the folder. A
// DEPOSIT cell says who deposits; every deposit right holds in in_progress
// only (a state list in brackets would say otherwise). D: deposits;
// E: deposits in the folders of every party in dépôt expert; L: deposits in
// the folders of the parties the lawyer represents when they are in dépôt
// avocat or dépôt intervenant; M: deposits in the member's own party's
// folders when it is in dépôt intervenant; -: nothing. No one deposits in
// the folders of a party that does not dematerialise (paper).
//
//	READ                 expert       co_expert    sapiteur     magistrate   clerk        lawyer       party_member
//	expert_designation   cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	expert_convocations  cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	expert_notes         cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	expert_prereport     cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	expert_subfolder     cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	party_dires          cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	party_pieces         cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	registry_outbound    cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	final_report         cpzfa        cpzfa        .pzf.        .pzfa        .pzfa        .pzf.        .pzf.
//	magistrate           cpzfa        cpz..        .pz..        .pz..        .pz..        .pz..        .pz..
//	confidential         cpzfa        cpz..        .....        .....        .....        .....        .....
//
//	DEPOSIT              expert       co_expert    sapiteur     magistrate   clerk        lawyer       party_member
//	expert_designation   D            D            -            -            -            -            -
//	expert_convocations  D            D            -            -            -            -            -
//	expert_notes         D            D            -            -            -            -            -
//	expert_prereport     D            D            -            -            -            -            -
//	expert_subfolder     D            D            D            -            -            -            -
//	party_dires          E            E            -            -            -            L            M
//	party_pieces         E            E            -            -            -            L            M
//	registry_outbound    D            D            -            -            -            D            -
//	final_report         D            D            -            -            -            -            -
//	magistrate           -            -            -            D            D            -            -
//	confidential         D            D            -            -            -            -            -
//
//	TRANSITIONS (owning expert only)
//	creation -> in_progress
//	in_progress -> paused
//	paused -> in_progress
//	in_progress -> finished
//	paused -> finished
//	finished -> archived
//
// # Decisions and why
//
//  1. Deposits only while in_progress, for everyone (the issue). Creation
//     and paused block them, so do finished and archived.
//  2. Contradictoire: while the case is in_progress or paused, every active
//     participant reads every folder that is not confidential, the other
//     parties' folders and the Magistrat folder included, since every party
//     must see every element the expert relies on and every decision of
//     the judge. A pause stops the operations, not the access to what was
//     already exchanged (parties keep preparing their dires).
//  3. Creation: the safe is not open yet (nothing can be deposited), so only
//     the expert and the co-experts see the (empty) tree.
//  4. Finished: everyone reads the final-report folder only (the issue,
//     literally), co-experts and sapiteurs included, except the owning
//     expert, who keeps reading the whole case. The owner is the custodian
//     of the case file and still has work on it after the report: the
//     fee request and the parties' observations on it (art. 282, 284 CPC),
//     a hearing by the judge (art. 283), a request to complete or explain
//     the findings (art. 245), a claim that a dire went unanswered. Cutting
//     the owner off protects no one, since every document went through them.
//  5. Archived: the case is closed for good and outside access ends. The
//     owner still reads everything (same reasons, and the certain dates of
//     deposit and opening must stay provable); magistrates, clerks and
//     co-experts keep the final report (the court's copy, and the report
//     the co-experts signed); lawyers, party members and sapiteurs read
//     nothing more (the report was served to them, art. 173 and 282).
//  6. Party folders follow the party's deposit mode: dépôt avocat, only its
//     lawyers; dépôt intervenant, its members and its lawyers; dépôt
//     expert, the expert (and co-experts) for it; paper, nobody (the folder
//     shows the party does not dematerialise; the expert sends paper
//     copies). A lawyer representing several parties deposits in each of
//     their folders that allows lawyers. Depositing never depends on the
//     other parties' modes, and reading never depends on any mode.
//  7. Co-experts (art. 264: several experts for one mission, one report,
//     art. 282) read and deposit like the owner while the case is worked
//     on, but only the owner administers it: locking documents and changing
//     the state.
//  8. Sapiteur (art. 278): a technician of another specialty whose opinion
//     must be put to the parties before the report. It reads what the
//     parties read (it needs the pièces to give an opinion, and its reading
//     is recorded like anyone's) and deposits only in folders the expert
//     added (expert_subfolder: the expert creates e.g. "Avis du sapiteur"),
//     so the opinion is at once visible to everyone. It never sees
//     confidential folders.
//  9. Confidential folders: the expert and the co-experts only, to read and
//     to deposit. A confidential folder holds what stays outside the
//     contradictoire (working papers, documents under medical secrecy);
//     giving it to the magistrates would let the judge see what the parties
//     cannot discuss (art. 16 CPC), so they do not see it either.
//  10. Magistrat folder: magistrates and clerks deposit (orders extending
//     the mission or asking a further consignation, the registry's
//     notices); everyone reads it (rule 2).
//  11. Greffe: the expert and co-experts deposit in "Communication vers le
//     greffe" and in "Rapport définitif" (the filing of art. 282). Lawyers
//     also deposit in "Communication vers le greffe" (OPALEXE names it
//     "Communication Expert-Parties vers Greffe"; e.g. the observations on
//     the fees go to the court, art. 282); party members do not, parties
//     speak to the court through counsel. Everyone reads both (rule 2).
//  12. Inactive participants read nothing and deposit nothing, whatever the
//     state; an inactive owner cannot lock or change the state either.
//
// # Lock
//
// Only the active owning expert locks a document ([CanLock]); locking is
// irreversible and erases nothing. It is allowed in every state in which
// documents exist (in_progress, paused, finished, archived), because the
// need to withdraw a document (a wrong file, personal data) can arise after
// the end too; not in creation, where there is none.
//
// # Transitions
//
// Only the active owning expert changes the state ([CanTransition]), along
// en création → en cours ⇄ en pause → terminée → archivée: creation →
// in_progress (opening: the safe opens), in_progress ⇄ paused, in_progress →
// finished, paused → finished (the report filed as it stands when the
// further consignation is not paid, art. 280, or a settlement, art. 281; to
// deposit the report itself the expert resumes first, since deposits need
// in_progress), finished → archived. Nothing goes back: no reopening of a
// finished case, no return to creation, archived is final. [Next] gives the
// targets offered to the expert.
//
// # In the store
//
// A listing of the folders (or documents) a participant may read becomes,
// with f := FilterFor(ActionRead, subject, caseState):
//
//	WHERE folders.case_id = ? AND (
//	      (folders.kind IN (clause 1 kinds)
//	       [AND folders.party_id IN (clause 1 party ids)]
//	       [AND parties.deposit_mode IN (clause 1 modes)])
//	   OR (clause 2 …))
//
// with the subject and the state read from the case's own participant and
// case rows in the same query or transaction; an empty filter means no row
// (not "no condition"). A deposit checks [CanDeposit] in the transaction
// that inserts the document, against the participant, folder and case
// state read in that transaction.
package rights
