// /api/v1/change-streams: create, list, describe, update, pause, resume, delete.
#include <simdjson.h>

#include "cdc/pg_conn.h"
#include "cdc/pgoutput.h"
#include "cdc/source.h"
#include "common/logging.h"
#include "control/handlers.h"
#include "control/json_util.h"

namespace millrace::control {
namespace {

Status NoChangeStream(const std::string& name) {
  return Status::NotFound("change stream " + name + " does not exist");
}

struct StoredChangeStream {
  catalog::DocRow row;
  cdc::ChangeStreamSpec spec;
};

Result<std::optional<StoredChangeStream>> FindChangeStream(const Env& env,
                                                           const std::string& name) {
  auto row = env.catalog->GetDoc(catalog::DocKind::kChangeStream, name);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<StoredChangeStream>();
  auto spec = cdc::ParseChangeStreamSpec((*row)->spec);
  if (!spec.ok())
    return Status::Corruption("change stream " + name +
                              " is stored unreadable: " + spec.status().message());
  return std::optional<StoredChangeStream>(StoredChangeStream{**row, std::move(*spec)});
}

void ReloadChangeStreams(const Env& env) {
  if (!env.change_streams) return;
  Status st = env.change_streams->Reload();
  if (!st.ok()) LOG(kWarn) << "control: change streams: " << st.ToString();
}

// The change stream as the API shows it: its spec (the connection string without its
// password), version and times, and its live status.
std::string ChangeStreamObject(const Env& env, const StoredChangeStream& c) {
  std::string body;
  JsonWriter w(&body);
  const cdc::ChangeStreamSpec& s = c.spec;
  auto redacted = cdc::RedactDsn(s.dsn);
  std::optional<cdc::ChangeStreamStatus> st;
  if (env.change_streams) st = env.change_streams->StatusOf(s.name);
  w.BeginObject();
  w.Key("name");
  w.String(s.name);
  w.Key("source");
  w.BeginObject();
  w.Key("type");
  w.String("postgresql");
  w.Key("dsn");
  w.String(redacted.ok() ? *redacted : std::string("(unreadable)"));
  w.Key("tables");
  w.BeginArray();
  for (const auto& t : s.tables) w.String(t);
  w.EndArray();
  w.Key("publication");
  w.String(s.PublicationName());
  w.Key("slot");
  w.String(s.SlotName());
  w.EndObject();
  w.Key("stream");
  w.String(s.stream);
  w.Key("stream_arn");
  w.String(env.streams->StreamArn(s.stream, env.streams->options().region));
  w.Key("image_format");
  w.String(cdc::ImageFormatName(s.image_format));
  w.Key("snapshot");
  w.String(s.snapshot == cdc::SnapshotMode::kInitial ? "initial" : "never");
  w.Key("paused");
  w.Bool(s.paused);
  w.Key("version");
  w.Int(c.row.version);
  w.Key("created_at");
  w.String(IsoTime(c.row.created_ms));
  w.Key("updated_at");
  w.String(IsoTime(c.row.updated_ms));
  w.Key("state");
  w.String(s.paused ? "PAUSED" : st ? st->state : "STARTING");
  w.Key("last_error");
  if (st && !st->last_error.empty())
    w.String(st->last_error);
  else
    w.Null();
  w.Key("last_error_at");
  if (st && st->last_error_at_ms)
    w.String(IsoTime(st->last_error_at_ms));
  else
    w.Null();
  w.Key("consecutive_failures");
  w.Uint(st ? st->consecutive_failures : 0);
  w.Key("confirmed_lsn");
  if (st && st->confirmed_lsn)
    w.String(cdc::LsnString(st->confirmed_lsn));
  else
    w.Null();
  w.Key("lag");
  w.BeginObject();
  w.Key("bytes");
  w.Uint(st && st->server_lsn > st->confirmed_lsn && st->confirmed_lsn
             ? st->server_lsn - st->confirmed_lsn
             : 0);
  w.Key("seconds");
  w.Double(st ? st->lag_ms / 1000.0 : 0);
  w.EndObject();
  w.Key("changes_per_second");
  w.Double(st ? st->changes_per_second : 0);
  w.Key("counters");
  w.BeginObject();
  w.Key("changes");
  w.Uint(st ? st->changes : 0);
  w.Key("snapshot_rows");
  w.Uint(st ? st->snapshot_rows : 0);
  w.Key("transactions");
  w.Uint(st ? st->transactions : 0);
  w.Key("skipped");
  w.Uint(st ? st->skipped : 0);
  w.EndObject();
  w.Key("snapshot_progress");
  w.BeginObject();
  w.Key("done");
  w.Bool(s.snapshot == cdc::SnapshotMode::kNever || (st && st->snapshot_done));
  w.Key("tables");
  w.BeginArray();
  if (st)
    for (const auto& t : st->snapshot) {
      w.BeginObject();
      w.Key("table");
      w.String(t.table);
      w.Key("rows_copied");
      w.Uint(t.rows_copied);
      w.Key("rows_estimated");
      w.Int(t.rows_estimated);
      w.Key("done");
      w.Bool(t.done);
      w.EndObject();
    }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return body;
}

Outcome ChangeStreamAnswer(const Env& env, const std::string& name, int http_status,
                           bool created_stream = false) {
  auto c = FindChangeStream(env, name);
  if (!c.ok()) return c.status();
  if (!*c) return NoChangeStream(name);
  std::string body = ChangeStreamObject(env, **c);
  if (created_stream)
    AddMembers(&body, [](JsonWriter& w) {
      w.Key("created_stream");
      w.Bool(true);
    });
  return Answer{http_status, std::move(body)};
}

Outcome SetPaused(const Env& env, const std::string& name, bool paused) {
  auto existing = FindChangeStream(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoChangeStream(name);
  cdc::ChangeStreamSpec spec = (*existing)->spec;
  if (spec.paused != paused) {
    spec.paused = paused;
    MILLRACE_RETURN_IF_ERROR(env.catalog->UpdateDoc(catalog::DocKind::kChangeStream, name,
                                                    cdc::ChangeStreamSpecJson(spec),
                                                    env.clock->NowMillis(), nullptr));
    ReloadChangeStreams(env);
  }
  return ChangeStreamAnswer(env, name, 200);
}

}  // namespace

Outcome ListChangeStreams(const Env& env) {
  auto rows = env.catalog->ListDocs(catalog::DocKind::kChangeStream);
  if (!rows.ok()) return rows.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("change_streams");
  w.BeginArray();
  for (auto& row : *rows) {
    auto spec = cdc::ParseChangeStreamSpec(row.spec);
    if (!spec.ok()) continue;
    w.Raw(ChangeStreamObject(env, StoredChangeStream{row, std::move(*spec)}));
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Outcome CreateChangeStream(const Env& env, std::string_view body) {
  auto named = BodyWithStreamName(env, body);
  if (!named.ok()) return named.status();
  auto spec = cdc::ParseChangeStreamSpec(*named);
  if (!spec.ok()) return spec.status();
  auto existing = FindChangeStream(env, spec->name);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::AlreadyExists("change stream " + spec->name + " exists already");
  auto all = env.catalog->ListDocs(catalog::DocKind::kChangeStream);
  if (!all.ok()) return all.status();
  for (const auto& row : *all) {
    auto other = cdc::ParseChangeStreamSpec(row.spec);
    if (other.ok() && other->stream == spec->stream)
      return Status::FailedPrecondition("stream " + spec->stream +
                                        " is already written by change stream " + other->name +
                                        "; give each change stream a stream of its own");
  }
  MILLRACE_RETURN_IF_ERROR(cdc::CheckSource(*spec));  // connects to the database
  bool created_stream = false;
  if (!env.streams->Get(spec->stream).ok()) {
    MILLRACE_RETURN_IF_ERROR(
        env.streams->CreateStream(spec->stream, std::nullopt, streams::StreamMode::kOnDemand, {}));
    created_stream = true;
  }
  const int64_t now = env.clock->NowMillis();
  catalog::DocRow row;
  row.name = spec->name;
  row.spec = cdc::ChangeStreamSpecJson(*spec);
  row.created_ms = row.updated_ms = now;
  (void)env.catalog->DeleteDoc(catalog::DocKind::kChangeStreamState, spec->name);
  MILLRACE_RETURN_IF_ERROR(env.catalog->CreateDoc(catalog::DocKind::kChangeStream, row));
  ReloadChangeStreams(env);
  return ChangeStreamAnswer(env, spec->name, 201, created_stream);
}

Outcome DescribeChangeStream(const Env& env, const std::string& name) {
  return ChangeStreamAnswer(env, name, 200);
}

// The body carries what changes: tables (a table added is captured from then on, without
// a snapshot of its existing rows), dsn, image_format, paused. The stream cannot change.
Outcome UpdateChangeStream(const Env& env, const std::string& name, std::string_view body) {
  auto existing = FindChangeStream(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoChangeStream(name);
  auto named = BodyWithName(body, name);
  if (!named.ok()) return named.status();
  auto with_stream = BodyWithStreamName(env, *named);
  if (!with_stream.ok()) return with_stream.status();
  const cdc::ChangeStreamSpec& old = (*existing)->spec;
  // An answer sent back as it was shows the connection string without its password: that
  // is the stored one, unchanged.
  std::string patch = *with_stream;
  {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view dsn;
    auto redacted = cdc::RedactDsn(old.dsn);
    if (parser.parse(patch.data(), patch.size()).get(doc) == simdjson::SUCCESS &&
        doc["source"].type() == simdjson::dom::element_type::OBJECT) {
      // So do the slot and publication names it shows when they are Millrace's own.
      std::string_view pub, slot;
      const bool same_dsn =
          doc["source"]["dsn"].get(dsn) == simdjson::SUCCESS && redacted.ok() && dsn == *redacted;
      const bool own_pub = old.OwnsPublication() &&
                           doc["source"]["publication"].get(pub) == simdjson::SUCCESS &&
                           pub == old.PublicationName();
      const bool own_slot = old.OwnsSlot() &&
                            doc["source"]["slot"].get(slot) == simdjson::SUCCESS &&
                            slot == old.SlotName();
      std::string keep;
      JsonWriter w(&keep);
      w.BeginObject();
      w.Key("source");
      w.BeginObject();
      if (same_dsn) {
        w.Key("dsn");
        w.String(old.dsn);
      }
      if (own_pub) {
        w.Key("publication");
        w.Null();
      }
      if (own_slot) {
        w.Key("slot");
        w.Null();
      }
      w.EndObject();
      w.EndObject();
      auto kept = MergePatch(patch, keep);
      if (!kept.ok()) return kept.status();
      patch = std::move(*kept);
    }
  }
  auto merged = MergePatch(cdc::ChangeStreamSpecJson(old), patch);
  if (!merged.ok()) return merged.status();
  auto spec = cdc::ParseChangeStreamSpec(*merged);
  if (!spec.ok()) return spec.status();
  if (spec->stream != old.stream)
    return Status::InvalidArgument("stream: cannot be changed (create another change stream)");
  const std::string json = cdc::ChangeStreamSpecJson(*spec);
  if (json == cdc::ChangeStreamSpecJson(old)) return ChangeStreamAnswer(env, name, 200);
  if (spec->dsn != old.dsn || spec->tables != old.tables) {
    // The slot exists already: check the rest as at create time, without the slot.
    cdc::ChangeStreamSpec check = *spec;
    check.slot = spec->SlotName();
    check.snapshot = cdc::SnapshotMode::kNever;
    Status st = cdc::CheckSource(check);
    if (!st.ok() && st.message().find("replication slot") == std::string::npos) return st;
  }
  MILLRACE_RETURN_IF_ERROR(env.catalog->UpdateDoc(catalog::DocKind::kChangeStream, name, json,
                                                  env.clock->NowMillis(), nullptr));
  ReloadChangeStreams(env);
  return ChangeStreamAnswer(env, name, 200);
}

Outcome PauseChangeStream(const Env& env, const std::string& name) {
  return SetPaused(env, name, true);
}
Outcome ResumeChangeStream(const Env& env, const std::string& name) {
  return SetPaused(env, name, false);
}

// Stops the capture, drops the slot and publication it owns, then forgets it. Its stream
// and the records in it stay.
Outcome DeleteChangeStream(const Env& env, const std::string& name) {
  auto existing = FindChangeStream(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoChangeStream(name);
  if (env.change_streams) {
    Status st = env.change_streams->Drop((*existing)->spec);
    if (!st.ok()) {
      ReloadChangeStreams(env);  // it goes on capturing
      return Status::FailedPrecondition(
          "change stream " + name + " was not deleted: its replication slot " +
          (*existing)->spec.SlotName() + " could not be dropped (" + st.message() +
          "); a slot left behind keeps WAL on the database. Retry when the database is "
          "reachable");
    }
  }
  MILLRACE_RETURN_IF_ERROR(env.catalog->DeleteDoc(catalog::DocKind::kChangeStream, name));
  (void)env.catalog->DeleteDoc(catalog::DocKind::kChangeStreamState, name);
  ReloadChangeStreams(env);
  return DeletedAnswer(name);
}

}  // namespace millrace::control
