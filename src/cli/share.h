// `millrace share`: a customer's read-only way into their data (an access key pair, or a
// role with an ExternalId for their account), made in a data directory's catalog.
#pragma once

#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace millrace::cli {

// The catalog document (kind "account") in which the server records its own account id
// when it starts, so that `millrace share` makes ARNs in the right account.
inline constexpr const char* kOperatorAccountDoc = "operator";

// The server's account id as recorded in the catalog, else the default "000000000000".
std::string OperatorAccount(catalog::Catalog* catalog);

int Share(const std::vector<std::string>& args);

}  // namespace millrace::cli
