"""Tags: AddTagsToStream / ListTagsForStream / RemoveTagsFromStream, CreateStream Tags,
TagResource / UntagResource / ListTagsForResource (by ARN)."""

import unittest

from harness import KinesisTestCase, millrace_only, not_on_kinesalite, stream_arn


def as_dict(tags):
    return {t["Key"]: t["Value"] for t in tags}


class StreamTagsTest(KinesisTestCase):

    def test_add_list_remove(self):
        name = self.create_stream()
        r = self.kinesis.list_tags_for_stream(StreamName=name)
        self.assertEqual(r["Tags"], [])
        self.assertIs(r["HasMoreTags"], False)
        self.kinesis.add_tags_to_stream(StreamName=name, Tags={"team": "data", "env": "dev", "cost": ""})
        r = self.kinesis.list_tags_for_stream(StreamName=name)
        self.assertEqual(r["Tags"], [{"Key": "cost", "Value": ""}, {"Key": "env", "Value": "dev"},
                                     {"Key": "team", "Value": "data"}])
        self.assertIs(r["HasMoreTags"], False)
        # Overwrite one value, add another.
        self.kinesis.add_tags_to_stream(StreamName=name, Tags={"env": "prod", "owner": "me@example.com"})
        self.assertEqual(as_dict(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"]),
                         {"cost": "", "env": "prod", "owner": "me@example.com", "team": "data"})
        self.kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["cost", "team", "not-there"])
        self.assertEqual(as_dict(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"]),
                         {"env": "prod", "owner": "me@example.com"})

    def test_paging(self):
        name = self.create_stream()
        self.kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "1", "b": "2", "c": "3"})
        r = self.kinesis.list_tags_for_stream(StreamName=name, Limit=2)
        self.assertEqual(r["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.assertIs(r["HasMoreTags"], True)
        r = self.kinesis.list_tags_for_stream(StreamName=name, Limit=2, ExclusiveStartTagKey="b")
        self.assertEqual(r["Tags"], [{"Key": "c", "Value": "3"}])
        self.assertIs(r["HasMoreTags"], False)

    def test_unicode_and_allowed_punctuation(self):
        name = self.create_stream()
        tags = {"Équipe": "données", "path/to.key": "a b_c=d+e-f@g"}
        self.kinesis.add_tags_to_stream(StreamName=name, Tags=tags)
        self.assertEqual(as_dict(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"]), tags)

    def test_invalid_characters(self):
        name = self.create_stream()
        with self.assertAwsError("InvalidArgumentException",
                                 "Some tags contain invalid characters. Valid characters: Unicode letters, "
                                 "digits, white space, _ . / = + - % @."):
            self.kinesis.add_tags_to_stream(StreamName=name, Tags={"bad*key": "v"})
        self.assertEqual(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"], [])

    @millrace_only("kinesalite accepts a tab, a newline and %")
    def test_tag_pattern_as_aws_applies_it(self):
        """Regression: a tab, a newline and % were accepted, and RemoveTagsFromStream checked
        nothing. AWS's pattern ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*) refuses them (its message
        still names %) and takes ':'."""
        name = self.create_stream()
        message = ("Some tags contain invalid characters. Valid characters: Unicode letters, "
                   "digits, white space, _ . / = + - % @.")
        for tags in ({"k": "a\tb"}, {"k\n": "v"}, {"100%": "v"}):
            with self.assertAwsError("InvalidArgumentException", message):
                self.kinesis.add_tags_to_stream(StreamName=name, Tags=tags)
        with self.assertAwsError("InvalidArgumentException", message):
            self.kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["ok", "bad%"])
        self.kinesis.add_tags_to_stream(StreamName=name, Tags={"team:name": "a b"})
        self.assertEqual(as_dict(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"]),
                         {"team:name": "a b"})

    def test_key_length_validation(self):
        name = self.create_stream()
        key = "k" * 129
        r = self.raw.call("AddTagsToStream", {"StreamName": name, "Tags": {key: "v"}})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '{%s=v}' at 'tags' failed to satisfy constraint: Map keys must "
            "satisfy constraint: [Member must have length less than or equal to 128, Member must have length "
            "greater than or equal to 1]" % key)

    def test_value_length_validation(self):
        name = self.create_stream()
        value = "v" * 257
        r = self.raw.call("AddTagsToStream", {"StreamName": name, "Tags": {"k": value}})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '{k=%s}' at 'tags' failed to satisfy constraint: Map value must "
            "satisfy constraint: [Member must have length less than or equal to 256, Member must have length "
            "greater than or equal to 0]" % value)

    def test_empty_lists_and_maps(self):
        name = self.create_stream()
        r = self.raw.call("AddTagsToStream", {"StreamName": name, "Tags": {}})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '{}' at 'tags' failed to satisfy constraint: Member must "
            "have length greater than or equal to 1")
        r = self.raw.call("RemoveTagsFromStream", {"StreamName": name, "TagKeys": []})
        self.assertRawError(
            r, "ValidationException",
            "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must "
            "have length greater than or equal to 1")

    @not_on_kinesalite("CreateStream Tags")
    def test_create_stream_with_tags(self):
        name = self.stream_name()
        self.call("CreateStream", StreamName=name, ShardCount=1, Tags={"created": "with-tags"})
        self.wait_active(name)
        self.assertEqual(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"],
                         [{"Key": "created", "Value": "with-tags"}])


@not_on_kinesalite("TagResource / UntagResource / ListTagsForResource")
class ResourceTagsTest(KinesisTestCase):

    def test_tag_untag_list_by_arn(self):
        name = self.create_stream()
        arn = stream_arn(name)
        self.call("TagResource", ResourceARN=arn, Tags={"k1": "v1", "k2": "v2"})
        tags = self.call("ListTagsForResource", ResourceARN=arn)["Tags"]
        self.assertEqual(as_dict(tags), {"k1": "v1", "k2": "v2"})
        # Same tags as the stream API sees.
        self.assertEqual(as_dict(self.kinesis.list_tags_for_stream(StreamName=name)["Tags"]),
                         {"k1": "v1", "k2": "v2"})
        self.call("UntagResource", ResourceARN=arn, TagKeys=["k1"])
        self.assertEqual(as_dict(self.call("ListTagsForResource", ResourceARN=arn)["Tags"]), {"k2": "v2"})

    def test_unknown_resource(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.call("ListTagsForResource", ResourceARN=stream_arn("no-such-stream"))


if __name__ == "__main__":
    unittest.main()
