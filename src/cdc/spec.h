// A change stream's configuration, as stored in the catalog (JSON, DocKind::kChangeStream)
// and given to POST /api/v1/change-streams (docs/change-streams.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cdc/pg_value.h"
#include "common/status.h"

namespace millrace::cdc {

enum class SnapshotMode { kInitial, kNever };

struct ChangeStreamSpec {
  std::string name;                 // 1-128 of [a-zA-Z0-9_.-]
  std::string dsn;                  // libpq connection string or URI (may hold a password)
  std::vector<std::string> tables;  // "schema.table" (a bare name is public's)
  std::string publication;          // empty: Millrace's own (PublicationName)
  std::string slot;                 // empty: Millrace's own (SlotName)
  std::string stream;               // the Millrace stream written into
  ImageFormat image_format = ImageFormat::kPlain;
  SnapshotMode snapshot = SnapshotMode::kInitial;
  bool paused = false;

  // The slot and publication used: the given ones, or "millrace_<name>" (lower case, other
  // characters as '_', shortened with a hash of the name to PostgreSQL's 63 bytes).
  std::string SlotName() const;
  std::string PublicationName() const;
  bool OwnsSlot() const { return slot.empty(); }
  bool OwnsPublication() const { return publication.empty(); }
};

// Parses and checks a spec (unknown fields, types, names; nothing about the database).
// Read-only fields of the API's answers are ignored. InvalidArgument naming the field.
Result<ChangeStreamSpec> ParseChangeStreamSpec(std::string_view json);
// The spec as stored (with the connection string as given).
std::string ChangeStreamSpecJson(const ChangeStreamSpec& s);

// "shipment" -> "public.shipment"; "Sales.Order" stays; InvalidArgument if not a name.
Result<std::string> QualifiedTable(std::string_view table);
// "public.shipment" -> {"public", "shipment"} (of a QualifiedTable result).
std::pair<std::string, std::string> SplitTable(const std::string& qualified);

}  // namespace millrace::cdc
