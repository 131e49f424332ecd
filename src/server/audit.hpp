#pragma once

// The audit log: who changed what through the API, when and from where, as an append-only
// chain of rows in the store (see Store::AppendAudit), also written to the server's log at the
// info level. AuditChanges wraps every route that changes something; logins are recorded by the
// login route itself.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "server/http/http.hpp"
#include "server/store/store.hpp"

namespace uh::server {

struct ApiContext;

class AuditLog {
 public:
  explicit AuditLog(Store& store) : store_(store) {}

  // Appends `entry` (its id, time and hashes are set by the store) and logs it. A failure to
  // store it is logged as an error and returned.
  Expected<AuditEntry> Record(AuditEntry entry);

  struct Verdict {
    std::size_t rows = 0;
    std::optional<std::int64_t> first_bad_id;  // set when the chain is broken
    std::string reason;                        // why that row is bad
  };
  // Walks the whole chain, oldest first: every row must follow the one before (ids in a row,
  // prev_hash equal to the previous hash) and hash to its own hash.
  [[nodiscard]] Expected<Verdict> Verify();

 private:
  Store& store_;
};

// Wraps every route that changes something (not GET or HEAD) under /api/v1, except login, so
// that each call by an authenticated user leaves a row: the user, the token, the address, the
// action ("METHOD /pattern"), the target (the route's id, uid or product parameter), the status
// answered, and as detail the parameters and, where they hold no secret, the request's and the
// answer's JSON bodies. Calls without a valid token (answered 401) leave none.
void AuditChanges(http::Router& router, ApiContext& context);

// GET /api/v1/audit (filters actor, action, since, until; paging before, limit; format json,
// jsonl or csv) and GET /api/v1/audit/verify, for administrators.
void AddAuditRoutes(http::Router& router, ApiContext& context);

}  // namespace uh::server
