"""The S3 API's writes (issue #13): buckets, PutObject in every body framing, checksums,
multipart uploads, copies, deletes, lifecycle expiry, bucket keys, and what bad input gets
(docs/s3-api.md). Driven with boto3, and with a hand-made SigV4 client where boto3 cannot
send what is tested (signed aws-chunked bodies, broken ones)."""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import time
import unittest
import zlib

from botocore.config import Config
from botocore.exceptions import ClientError

from harness import MillraceServer, millrace_only, slow
from test_consumers import Api, wait_for

MiB = 1 << 20


def s3_client(server, creds=None):
    return server.session(creds).client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}))


class RawS3:
    """A minimal SigV4 client written from AWS's documentation (sigv4-streaming), to send
    the aws-chunked bodies boto3 does not (signed chunks), and broken ones."""

    def __init__(self, server, creds):
        self.host, self.port = "127.0.0.1", server.port
        self.key_id, self.secret = creds
        self.region = "us-east-1"

    def _key(self, date):
        k = hmac.new(("AWS4" + self.secret).encode(), date.encode(), hashlib.sha256).digest()
        for part in (self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return k

    def request(self, method, path, body=b"", headers=None, payload_hash=None, query="",
                host=None):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        h = {"host": host or "%s:%d" % (self.host, self.port), "x-amz-date": amz_date,
             "x-amz-content-sha256": payload_hash or hashlib.sha256(body).hexdigest()}
        h.update({k.lower(): v for k, v in (headers or {}).items()})
        signed = sorted(h)
        canonical = "\n".join([method, path, query,
                               "".join("%s:%s\n" % (k, str(h[k]).strip()) for k in signed),
                               ";".join(signed), h["x-amz-content-sha256"]])
        scope = "%s/%s/s3/aws4_request" % (date, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
        key = self._key(date)
        seed = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                              % (self.key_id, scope, ";".join(signed), seed))
        return h, key, scope, amz_date, seed

    def send(self, method, path, headers, body, query=""):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request(method, path + ("?" + query if query else ""), body=body, headers=headers)
        r = conn.getresponse()
        out = (r.status, dict(r.getheaders()), r.read())
        conn.close()
        return out

    def put_signed_chunks(self, path, data, chunk=64 * 1024, corrupt_chunk=None,
                          trailer_crc32=None):
        """STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: each chunk signed, chained from
        the seed signature."""
        method = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" if trailer_crc32 is not None
                  else "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
        extra = {"content-encoding": "aws-chunked",
                 "x-amz-decoded-content-length": str(len(data))}
        if trailer_crc32 is not None:
            extra["x-amz-trailer"] = "x-amz-checksum-crc32"
        h, key, scope, amz_date, prev = self.request("PUT", path, headers=extra,
                                                     payload_hash=method)
        body = b""
        empty = hashlib.sha256(b"").hexdigest()
        for i, p in enumerate(pieces):
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                             hashlib.sha256(p).hexdigest()])
            prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            sent = p if i != corrupt_chunk else bytes([p[0] ^ 1]) + p[1:]
            body += b"%x;chunk-signature=%s\r\n" % (len(p), prev.encode()) + sent
            body += b"\r\n" if p else b""
        if trailer_crc32 is not None:
            trailer = "x-amz-checksum-crc32:%s\n" % trailer_crc32
            sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                             hashlib.sha256(trailer.encode()).hexdigest()])
            sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            body += trailer.replace("\n", "\r\n").encode()
            body += b"x-amz-trailer-signature:%s\r\n" % sig.encode()
        body += b"\r\n"
        h["content-length"] = str(len(body))
        return h, body

    def put_unsigned_trailer(self, path, data, crc32_b64, chunk=64 * 1024):
        """STREAMING-UNSIGNED-PAYLOAD-TRAILER, as current SDKs send by default."""
        extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm": "CRC32"}
        h, *_ = self.request("PUT", path, headers=extra,
                             payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        body = b"".join(b"%x\r\n" % len(data[i:i + chunk]) + data[i:i + chunk] + b"\r\n"
                        for i in range(0, len(data), chunk))
        body += b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % crc32_b64.encode()
        h["content-length"] = str(len(body))
        return h, body


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@millrace_only("the S3 API's writes")
class S3WriteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = MillraceServer(extra_args=["--lifecycle-interval-s", "1",
                                                "--s3-domain", "s3.test"]).start()
        cls.s3 = s3_client(cls.server)
        cls.raw = RawS3(cls.server, cls.server.credentials())

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def error(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response

    def code(self, fn, **kw):
        return self.error(fn, **kw)["Error"]["Code"]

    def keys(self, bucket, **kw):
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket, **kw).get("Contents", [])]

    def test_buckets_are_created_listed_and_deleted(self):
        self.bucket("made-here")
        self.assertIn("made-here", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        self.s3.head_bucket(Bucket="made-here")
        self.s3.create_bucket(Bucket="made-here")  # us-east-1: creating your own again is 200
        for bad in ("UPPER", "a", "has_underscore", "192.168.0.1", "-dash", "x" * 64):
            self.assertEqual(self.code(self.s3.create_bucket, Bucket=bad), "InvalidBucketName", bad)
        self.s3.put_object(Bucket="made-here", Key="k", Body=b"v")
        self.assertEqual(self.code(self.s3.delete_bucket, Bucket="made-here"), "BucketNotEmpty")
        self.s3.delete_object(Bucket="made-here", Key="k")
        self.s3.delete_bucket(Bucket="made-here")
        self.assertEqual(self.code(self.s3.head_bucket, Bucket="made-here"), "404")
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "buckets", "made-here")))
        # A dataset's bucket goes with its dataset, not by DeleteBucket.
        api = Api(self.server)
        st, doc = api.call("POST", "/api/v1/datasets", {"name": "a-dataset", "file_type": "jsonl"})
        self.assertEqual(st, 201, doc)
        # A dataset's bucket takes writes before its first delivery made its folder.
        self.s3.put_object(Bucket="a-dataset", Key="README.txt", Body=b"uploaded by hand")
        self.assertEqual(self.keys("a-dataset"), ["README.txt"])
        resp = self.error(self.s3.delete_bucket, Bucket="a-dataset")
        self.assertEqual(resp["Error"]["Code"], "OperationAborted")
        self.assertIn("DELETE /api/v1/datasets/a-dataset", resp["Error"]["Message"])
        # ... and a new dataset cannot take a bucket's name.
        self.bucket("taken-name")
        st, doc = api.call("POST", "/api/v1/datasets", {"name": "taken-name", "file_type": "jsonl"})
        self.assertEqual(st, 409, doc)

    def test_a_dataset_delivers_into_a_bucket_and_prefix_it_names(self):
        api = Api(self.server)
        kinesis = self.server.client()
        kinesis.create_stream(StreamName="exports-in", ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName="exports-in",
                                                 WaiterConfig={"Delay": 0.2})
        st, doc = api.call("POST", "/api/v1/datasets", {
            "name": "acme-export", "file_type": "jsonl", "bucket": "exports", "prefix": "acme/"})
        self.assertEqual(st, 404, doc)  # the bucket must exist first
        self.assertIn("aws s3 mb", doc["error"]["message"])
        self.bucket("exports")
        for bad in ("acme", "/acme/", "a/../b/", "a//"):
            st, doc = api.call("POST", "/api/v1/datasets", {
                "name": "bad-export", "file_type": "jsonl", "bucket": "exports", "prefix": bad})
            self.assertEqual(st, 400, (bad, doc))
        st, doc = api.call("POST", "/api/v1/consumers", {
            "name": "to-acme", "stream": "exports-in", "buffer_interval_seconds": 1,
            "dataset": {"name": "acme-export", "file_type": "jsonl", "bucket": "exports",
                        "prefix": "acme/"}})
        self.assertEqual(st, 201, doc)
        st, desc = api.call("GET", "/api/v1/datasets/acme-export")
        self.assertEqual((desc["bucket"], desc["prefix"]), ("exports", "acme/"))
        sent = [json.dumps({"n": i}).encode() for i in range(20)]
        kinesis.put_records(StreamName="exports-in", Records=[
            {"Data": d, "PartitionKey": str(i)} for i, d in enumerate(sent)])

        def lines():
            got = []
            for k in self.keys("exports", Prefix="acme/"):
                got += self.s3.get_object(Bucket="exports", Key=k)["Body"].read().splitlines()
            return got
        wait_for(lambda: len(lines()) >= 20, 30, "delivery into the bucket")
        self.assertEqual(sorted(lines()), sorted(sent))
        self.assertTrue(all(k.startswith("acme/") for k in self.keys("exports")))
        self.assertNotIn("acme-export", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        resp = self.error(self.s3.delete_bucket, Bucket="exports")
        self.assertEqual(resp["Error"]["Code"], "OperationAborted")
        st, doc = api.call("PUT", "/api/v1/datasets/acme-export", {"prefix": "other/"})
        self.assertEqual(st, 400, doc)
        st, doc = api.call("PUT", "/api/v1/datasets/acme-export", desc)  # as described: no change
        self.assertEqual(st, 200, doc)

    def test_virtual_hosted_requests_under_the_configured_domain(self):
        self.bucket("virt")
        host = "virt.s3.test:%d" % self.server.port
        h, *_ = self.raw.request("PUT", "/a/b.txt", body=b"virtual", host=host)
        status, headers, body = self.raw.send("PUT", "/a/b.txt", h, b"virtual")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.s3.get_object(Bucket="virt", Key="a/b.txt")["Body"].read(), b"virtual")
        h, *_ = self.raw.request("GET", "/", query="list-type=2", host=host)
        status, _, body = self.raw.send("GET", "/", h, b"", query="list-type=2")
        self.assertEqual(status, 200, body)
        self.assertIn(b"<Key>a/b.txt</Key>", body)
        # Another host is path-style: "/a/b.txt" is bucket "a".
        h, *_ = self.raw.request("GET", "/a/b.txt")
        status, _, body = self.raw.send("GET", "/a/b.txt", h, b"")
        self.assertEqual(status, 404, body)
        self.assertIn(b"NoSuchBucket", body)

    def test_put_and_get_keep_bytes_metadata_and_checksums(self):
        b = self.bucket("objects")
        data = os.urandom(300 * 1024)
        put = self.s3.put_object(Bucket=b, Key="dir/sub/file.bin", Body=data,
                                 Metadata={"owner": "acme", "Run-Id": "42"},
                                 ContentType="application/x-test",
                                 ContentDisposition='attachment; filename="f.bin"',
                                 ChecksumAlgorithm="SHA256")
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self.assertEqual(put["ChecksumSHA256"], sha)
        got = self.s3.get_object(Bucket=b, Key="dir/sub/file.bin", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["Metadata"], {"owner": "acme", "run-id": "42"})
        self.assertEqual(got["ContentType"], "application/x-test")
        self.assertEqual(got["ContentDisposition"], 'attachment; filename="f.bin"')
        self.assertEqual(got["ChecksumSHA256"], sha)
        for alg, field, digest in (("CRC32", "ChecksumCRC32", crc32_b64(data)),
                                   ("SHA1", "ChecksumSHA1",
                                    base64.b64encode(hashlib.sha1(data).digest()).decode())):
            r = self.s3.put_object(Bucket=b, Key="sum-" + alg, Body=data, ChecksumAlgorithm=alg)
            self.assertEqual(r[field], digest, alg)
            head = self.s3.head_object(Bucket=b, Key="sum-" + alg, ChecksumMode="ENABLED")
            self.assertEqual(head[field], digest, alg)
        # Overwriting replaces the whole object and its attributes.
        self.s3.put_object(Bucket=b, Key="dir/sub/file.bin", Body=b"short")
        got = self.s3.get_object(Bucket=b, Key="dir/sub/file.bin")
        self.assertEqual((got["Body"].read(), got["Metadata"]), (b"short", {}))
        self.assertEqual(got["ContentType"], "binary/octet-stream")
        # Zero bytes is an object too.
        self.s3.put_object(Bucket=b, Key="empty", Body=b"")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="empty")["Body"].read(), b"")
        # Conditional write: If-None-Match: * refuses to replace.
        if "IfNoneMatch" in self.s3.meta.service_model.operation_model("PutObject").input_shape.members:
            self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key="empty", Body=b"x",
                                       IfNoneMatch="*"), "PreconditionFailed")

    def test_wrong_digests_are_refused_and_nothing_is_written(self):
        b = self.bucket("digests")
        data = b"payload" * 1000
        good = base64.b64encode(hashlib.md5(data).digest()).decode()
        self.s3.put_object(Bucket=b, Key="ok", Body=data, ContentMD5=good)
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key="bad", Body=data,
                                   ContentMD5=wrong), "BadDigest")
        self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key="bad", Body=data,
                                   ContentMD5="not base64!"), "InvalidDigest")
        self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key="bad", Body=data,
                                   ChecksumCRC32=crc32_b64(b"other")), "BadDigest")
        # The signed payload hash is the body's, or the request is refused.
        h, *_ = self.raw.request("PUT", "/digests/bad", body=data,
                                 payload_hash=hashlib.sha256(b"x").hexdigest())
        status, _, body = self.raw.send("PUT", "/digests/bad", h, data)
        self.assertEqual((status, b"XAmzContentSHA256Mismatch" in body), (400, True), body)
        self.assertEqual(self.keys(b), ["ok"])
        staging = os.path.join(self.server.data_dir, "s3", "staging")
        self.assertEqual(os.listdir(staging), [])

    def test_signed_chunked_uploads_check_every_chunk(self):
        b = self.bucket("chunked")
        data = os.urandom(200 * 1024 + 17)
        h, body = self.raw.put_signed_chunks("/chunked/signed", data)
        status, headers, resp = self.raw.send("PUT", "/chunked/signed", h, body)
        self.assertEqual(status, 200, resp)
        self.assertEqual(headers["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        self.assertEqual(self.s3.get_object(Bucket=b, Key="signed")["Body"].read(), data)
        # With a signed trailer carrying the CRC32.
        h, body = self.raw.put_signed_chunks("/chunked/trailer", data, trailer_crc32=crc32_b64(data))
        status, headers, resp = self.raw.send("PUT", "/chunked/trailer", h, body)
        self.assertEqual(status, 200, resp)
        self.assertEqual(headers.get("x-amz-checksum-crc32"), crc32_b64(data))
        # One flipped bit in the second chunk: refused, and nothing is visible.
        h, body = self.raw.put_signed_chunks("/chunked/tampered", data, corrupt_chunk=1)
        status, _, resp = self.raw.send("PUT", "/chunked/tampered", h, body)
        self.assertEqual(status, 403, resp)
        self.assertIn(b"SignatureDoesNotMatch", resp)
        # A body cut before its last chunk.
        h, body = self.raw.put_signed_chunks("/chunked/cut", data)
        cut = body[:len(body) // 2]
        h["content-length"] = str(len(cut))
        status, _, resp = self.raw.send("PUT", "/chunked/cut", h, cut)
        self.assertEqual(status, 400, resp)
        self.assertIn(b"IncompleteBody", resp)
        # A wrong CRC32 in the trailer.
        h, body = self.raw.put_signed_chunks("/chunked/badsum", data, trailer_crc32=crc32_b64(b"x"))
        status, _, resp = self.raw.send("PUT", "/chunked/badsum", h, body)
        self.assertEqual(status, 400, resp)
        self.assertIn(b"BadDigest", resp)
        self.assertEqual(sorted(self.keys(b)), ["signed", "trailer"])

    def test_unsigned_trailer_uploads_as_current_sdks_send_them(self):
        b = self.bucket("trailers")
        data = os.urandom(150 * 1024)
        h, body = self.raw.put_unsigned_trailer("/trailers/t", data, crc32_b64(data))
        status, headers, resp = self.raw.send("PUT", "/trailers/t", h, body)
        self.assertEqual(status, 200, resp)
        self.assertEqual(headers.get("x-amz-checksum-crc32"), crc32_b64(data))
        self.assertEqual(self.s3.get_object(Bucket=b, Key="t")["Body"].read(), data)
        h, body = self.raw.put_unsigned_trailer("/trailers/bad", data, crc32_b64(b"no"))
        status, _, resp = self.raw.send("PUT", "/trailers/bad", h, body)
        self.assertEqual(status, 400, resp)
        self.assertIn(b"BadDigest", resp)
        self.assertEqual(self.keys(b), ["t"])

    def test_multipart_uploads(self):
        b = self.bucket("multi")
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 3), os.urandom(1000)]
        up = self.s3.create_multipart_upload(Bucket=b, Key="big/object", ContentType="text/csv",
                                             Metadata={"batch": "7"})
        uid = up["UploadId"]
        self.assertEqual([u["UploadId"] for u in self.s3.list_multipart_uploads(Bucket=b)["Uploads"]],
                         [uid])
        etags = []
        for i, p in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=b, Key="big/object", UploadId=uid, PartNumber=i, Body=p)
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(p).hexdigest())
            etags.append(r["ETag"])
        listed = self.s3.list_parts(Bucket=b, Key="big/object", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in listed],
                         [(i, len(p)) for i, p in enumerate(parts, 1)])
        self.assertEqual(self.keys(b), [])  # nothing visible before completion
        bad = {"Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]}
        self.assertEqual(self.code(self.s3.complete_multipart_upload, Bucket=b, Key="big/object",
                                   UploadId=uid, MultipartUpload=bad), "InvalidPartOrder")
        bad = {"Parts": [{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]}
        self.assertEqual(self.code(self.s3.complete_multipart_upload, Bucket=b, Key="big/object",
                                   UploadId=uid, MultipartUpload=bad), "InvalidPart")
        done = self.s3.complete_multipart_upload(
            Bucket=b, Key="big/object", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]})
        want = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
        self.assertEqual(done["ETag"], '"%s"' % want)
        got = self.s3.get_object(Bucket=b, Key="big/object")
        self.assertEqual(got["Body"].read(), b"".join(parts))
        self.assertEqual((got["ETag"], got["ContentType"], got["Metadata"]),
                         ('"%s"' % want, "text/csv", {"batch": "7"}))
        self.assertEqual(self.keys(b), ["big/object"])
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=b).get("Uploads", []), [])
        self.assertEqual(self.code(self.s3.list_parts, Bucket=b, Key="big/object", UploadId=uid),
                         "NoSuchUpload")
        # A part under 5 MiB that is not the last: EntityTooSmall. Abort removes the upload.
        uid = self.s3.create_multipart_upload(Bucket=b, Key="small")["UploadId"]
        small = [self.s3.upload_part(Bucket=b, Key="small", UploadId=uid, PartNumber=i,
                                     Body=b"x" * 1024)["ETag"] for i in (1, 2)]
        self.assertEqual(self.code(self.s3.complete_multipart_upload, Bucket=b, Key="small",
                                   UploadId=uid, MultipartUpload={"Parts": [
                                       {"PartNumber": i, "ETag": e} for i, e in enumerate(small, 1)]}),
                         "EntityTooSmall")
        self.s3.abort_multipart_upload(Bucket=b, Key="small", UploadId=uid)
        self.assertEqual(self.code(self.s3.upload_part, Bucket=b, Key="small", UploadId=uid,
                                   PartNumber=3, Body=b"x"), "NoSuchUpload")
        self.assertEqual(self.keys(b), ["big/object"])
        # boto3's managed transfer (multipart above its threshold) round-trips.
        import io
        data = os.urandom(17 * MiB)
        self.s3.upload_fileobj(io.BytesIO(data), b, "managed.bin")
        out = io.BytesIO()
        self.s3.download_fileobj(b, "managed.bin", out)
        self.assertEqual(out.getvalue(), data)

    def test_copy_and_delete(self):
        b = self.bucket("copies")
        self.s3.put_object(Bucket=b, Key="src", Body=b"source bytes", Metadata={"a": "1"},
                           ContentType="text/plain")
        r = self.s3.copy_object(Bucket=b, Key="same-meta", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(b"source bytes").hexdigest())
        got = self.s3.get_object(Bucket=b, Key="same-meta")
        self.assertEqual((got["Body"].read(), got["Metadata"], got["ContentType"]),
                         (b"source bytes", {"a": "1"}, "text/plain"))
        self.s3.copy_object(Bucket=b, Key="new-meta", CopySource="%s/src" % b,
                            MetadataDirective="REPLACE", Metadata={"b": "2"})
        self.assertEqual(self.s3.head_object(Bucket=b, Key="new-meta")["Metadata"], {"b": "2"})
        self.assertEqual(self.code(self.s3.copy_object, Bucket=b, Key="src",
                                   CopySource={"Bucket": b, "Key": "src"}), "InvalidRequest")
        self.assertEqual(self.code(self.s3.copy_object, Bucket=b, Key="x",
                                   CopySource={"Bucket": b, "Key": "missing"}), "NoSuchKey")
        # DeleteObjects, verbose and quiet; deleting what is not there is no error.
        self.s3.delete_object(Bucket=b, Key="never-was")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "same-meta"},
                                                                 {"Key": "not-there"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["not-there", "same-meta"])
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "new-meta"}], "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.keys(b), ["src"])
        # Emptied folders go with their last object.
        self.s3.put_object(Bucket=b, Key="deep/er/obj", Body=b"1")
        self.s3.delete_object(Bucket=b, Key="deep/er/obj")
        self.assertEqual(self.s3.list_objects_v2(Bucket=b, Delimiter="/").get("CommonPrefixes"), None)

    def test_bad_input_gets_aws_errors(self):
        b = self.bucket("bad-input")
        self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key="k" * 1025, Body=b"x"),
                         "KeyTooLongError")
        self.assertEqual(self.code(self.s3.put_object, Bucket="no-such-bucket", Key="k", Body=b"x"),
                         "NoSuchBucket")
        for key in ("a/../b", "a//b", "./x", "dir/"):
            self.assertEqual(self.code(self.s3.put_object, Bucket=b, Key=key, Body=b"x"),
                             "InvalidArgument", key)
        # A key cannot be both an object and a folder of other keys.
        self.s3.put_object(Bucket=b, Key="f", Body=b"x")
        resp = self.error(self.s3.put_object, Bucket=b, Key="f/g", Body=b"x")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.s3.put_object(Bucket=b, Key="d/e", Body=b"x")
        resp = self.error(self.s3.put_object, Bucket=b, Key="d", Body=b"x")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 409)
        # Malformed XML, and XML with a DOCTYPE (no entity tricks).
        for doc in (b"<Delete><Object><Key>f</Key></Object>", b"not xml at all",
                    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "f">]><Delete><Object>'
                    b"<Key>&x;</Key></Object></Delete>"):
            md5 = base64.b64encode(hashlib.md5(doc).digest()).decode()
            h, *_ = self.raw.request("POST", "/bad-input", body=doc, query="delete=",
                                     headers={"content-md5": md5})
            status, _, resp = self.raw.send("POST", "/bad-input", h, doc, query="delete=")
            self.assertEqual(status, 400, resp)
            self.assertIn(b"MalformedXML", resp)
        self.assertEqual(sorted(self.keys(b)), ["d/e", "f"])
        self.assertEqual(self.code(self.s3.get_object, Bucket=b, Key="f", Range="bytes=5-"),
                         "InvalidRange")

    def test_lifecycle_expires_old_objects(self):
        b = self.bucket("retained")
        self.assertEqual(self.code(self.s3.get_bucket_lifecycle_configuration, Bucket=b),
                         "NoSuchLifecycleConfiguration")
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "a-year", "Filter": {"Prefix": "changes/"}, "Status": "Enabled",
             "Expiration": {"Days": 365}}]})
        rules = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        self.assertEqual([(r["ID"], r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules],
                         [("a-year", "changes/", 365)])
        self.assertEqual(self.code(self.s3.put_bucket_lifecycle_configuration, Bucket=b,
                                   LifecycleConfiguration={"Rules": [
                                       {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled",
                                        "Expiration": {"Days": 0}}]}), "InvalidArgument")
        for key in ("changes/old", "changes/new", "other/old"):
            self.s3.put_object(Bucket=b, Key=key, Body=key.encode())
        # Two years ago, as far as the files' times say.
        root = os.path.join(self.server.data_dir, "buckets", b)
        two_years = time.time() - 2 * 366 * 86400
        for key in ("changes/old", "other/old"):
            os.utime(os.path.join(root, key), (two_years, two_years))
        # Invisible at once...
        self.assertEqual(self.code(self.s3.get_object, Bucket=b, Key="changes/old"), "NoSuchKey")
        self.assertEqual(self.keys(b), ["changes/new", "other/old"])
        # ... and deleted soon after (the server sweeps every second here).
        wait_for(lambda: not os.path.exists(os.path.join(root, "changes/old")), 15,
                 "the expired object to be deleted")
        self.assertTrue(os.path.exists(os.path.join(root, "other/old")))  # outside the prefix
        self.s3.delete_bucket_lifecycle(Bucket=b)
        self.assertEqual(self.code(self.s3.get_bucket_lifecycle_configuration, Bucket=b),
                         "NoSuchLifecycleConfiguration")
        # A dataset's rules go with the dataset: one made later with its name starts without.
        api = Api(self.server)
        for attempt in range(2):
            st, doc = api.call("POST", "/api/v1/datasets", {"name": "kept-a-day",
                                                            "file_type": "jsonl"})
            self.assertEqual(st, 201, doc)
            if attempt == 0:
                self.s3.put_bucket_lifecycle_configuration(
                    Bucket="kept-a-day", LifecycleConfiguration={"Rules": [
                        {"ID": "day", "Filter": {"Prefix": ""}, "Status": "Enabled",
                         "Expiration": {"Days": 1}}]})
                self.assertEqual(len(self.s3.get_bucket_lifecycle_configuration(
                    Bucket="kept-a-day")["Rules"]), 1)
                self.assertEqual(api.call("DELETE", "/api/v1/datasets/kept-a-day")[0], 200)
        self.assertEqual(self.code(self.s3.get_bucket_lifecycle_configuration,
                                   Bucket="kept-a-day"), "NoSuchLifecycleConfiguration")

    def test_bucket_keys_write_only_their_buckets(self):
        mine, other = self.bucket("writer-own"), self.bucket("writer-other")
        k = self.server.create_key("bucket-write", buckets=[mine])
        w = s3_client(self.server, (k["AccessKeyId"], k["SecretAccessKey"]))
        wait_for(lambda: self._known(w), 10, "the new key to be known")
        w.put_object(Bucket=mine, Key="k", Body=b"v")
        self.assertEqual(w.get_object(Bucket=mine, Key="k")["Body"].read(), b"v")
        w.delete_object(Bucket=mine, Key="k")
        self.assertEqual(self.code(w.put_object, Bucket=other, Key="k", Body=b"v"), "AccessDenied")
        # A large body for another bucket is refused, and not kept.
        self.assertEqual(self.code(w.put_object, Bucket=other, Key="k", Body=b"v" * (2 * MiB)),
                         "AccessDenied")
        self.assertEqual(self.code(w.create_bucket, Bucket="writer-new"), "AccessDenied")
        self.assertEqual(self.code(w.delete_bucket, Bucket=mine), "AccessDenied")
        self.assertEqual([b["Name"] for b in w.list_buckets()["Buckets"]], [mine])
        r = self.server.create_key("bucket-read", buckets=[mine])
        reader = s3_client(self.server, (r["AccessKeyId"], r["SecretAccessKey"]))
        wait_for(lambda: self._known(reader), 10, "the new key to be known")
        self.assertEqual(self.code(reader.put_object, Bucket=mine, Key="k", Body=b"v"),
                         "AccessDenied")
        self.assertEqual(self.keys(other), [])

    @staticmethod
    def _known(client):
        try:
            client.list_buckets()
            return True
        except ClientError as e:
            return e.response["Error"]["Code"] != "InvalidAccessKeyId"


@millrace_only("the S3 API's durability")
class S3DurabilityTest(unittest.TestCase):
    def setUp(self):
        self.server = MillraceServer().start()
        self.addCleanup(self.server.close)

    def test_every_acknowledged_put_survives_kill_9(self):
        s3 = s3_client(self.server)
        s3.create_bucket(Bucket="durable")
        acked = {}
        for i in range(60):
            data = os.urandom(1000 + i * 3000)
            s3.put_object(Bucket="durable", Key="obj/%03d" % i, Body=data)
            acked["obj/%03d" % i] = data
        self.server.kill9()
        self.server.start()
        s3 = s3_client(self.server)
        for key, data in acked.items():
            self.assertEqual(s3.get_object(Bucket="durable", Key=key)["Body"].read(), data, key)
        self.assertEqual(os.listdir(os.path.join(self.server.data_dir, "s3", "staging")), [])

    @slow
    def test_a_large_put_streams_through_bounded_memory(self):
        s3 = s3_client(self.server)
        s3.create_bucket(Bucket="large")
        size = 1 << 30
        path = os.path.join(self.server.root, "big.bin")
        with open(path, "wb") as f:  # 1 GiB, mostly a hole: fast to read
            f.write(os.urandom(MiB))
            f.truncate(size)
        pid = self.server.proc.pid

        def rss():
            with open("/proc/%d/status" % pid) as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))
        before, peak = rss(), [0]
        import threading
        done = threading.Event()

        def watch():
            while not done.is_set():
                peak[0] = max(peak[0], rss())
                time.sleep(0.05)
        t = threading.Thread(target=watch)
        t.start()
        try:
            with open(path, "rb") as f:
                s3.put_object(Bucket="large", Key="one-gib", Body=f)
        finally:
            done.set()
            t.join()
        self.assertLess(peak[0] - before, 64 * MiB, "server RSS grew by %d" % (peak[0] - before))
        md5 = hashlib.md5()
        body = s3.get_object(Bucket="large", Key="one-gib")["Body"]
        for chunk in iter(lambda: body.read(4 * MiB), b""):
            md5.update(chunk)
        want = hashlib.md5()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(4 * MiB), b""):
                want.update(chunk)
        self.assertEqual(md5.hexdigest(), want.hexdigest())


if __name__ == "__main__":
    unittest.main()
