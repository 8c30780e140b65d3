// The policy language and evaluation logic, on the examples of IAM's User Guide
// (reference_policies_examples, reference_policies_elements_condition_operators,
// reference_policies_variables, reference_policies_evaluation-logic).
#include <gtest/gtest.h>

#include "iam/policy.h"

namespace millrace::iam {
namespace {

PolicyPtr Identity(std::string_view json) {
  auto p = Policy::Parse(json, false);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << json;
  return p.ok() ? *p : nullptr;
}

PolicyPtr Resource(std::string_view json) {
  auto p = Policy::Parse(json, true);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << json;
  return p.ok() ? *p : nullptr;
}

RequestContext Req(std::string action, std::string resource, std::string account = "111122223333",
                   std::string user = "alice") {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.principal.account = account;
  r.principal.arn = "arn:aws:iam::" + account + ":user/" + user;
  r.keys["aws:username"] = user;
  return r;
}

Decision Decide(std::vector<PolicyPtr> identity, const RequestContext& r,
                PolicyPtr resource = nullptr, std::string resource_account = "111122223333",
                PolicyPtr session = nullptr) {
  PolicySet set;
  for (const auto& p : identity) set.identity.push_back(p.get());
  set.resource = resource.get();
  set.session = session.get();
  set.resource_account = std::move(resource_account);
  return Evaluate(set, r);
}

TEST(Wildcard, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("s3:Get*", "s3:GetObject", false));
  EXPECT_TRUE(WildcardMatch("s3:get*", "s3:GetObject", true));
  EXPECT_FALSE(WildcardMatch("s3:get*", "s3:GetObject", false));
  EXPECT_TRUE(WildcardMatch("a?c", "abc", false));
  EXPECT_FALSE(WildcardMatch("a?c", "ac", false));
  EXPECT_TRUE(WildcardMatch("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/1/2/x", false));
  EXPECT_FALSE(WildcardMatch("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/1/2/y", false));
  EXPECT_TRUE(WildcardMatch("**a**", "bab", false));
  EXPECT_FALSE(WildcardMatch("abc", "abcd", false));
}

TEST(Evaluation, ImplicitDenyWithoutAnyAllow) {
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}})");
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::b/k")), Decision::kImplicitDeny);
  EXPECT_EQ(Decide({p}, Req("s3:ListBucket", "arn:aws:s3:::b")), Decision::kAllow);
  EXPECT_EQ(Decide({}, Req("s3:ListBucket", "arn:aws:s3:::b")), Decision::kImplicitDeny);
}

TEST(Evaluation, ExplicitDenyBeatsAllow) {
  auto allow = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*",
      "Resource":"*"}})");
  auto deny = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny",
      "Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/*"}})");
  EXPECT_EQ(Decide({allow, deny}, Req("s3:DeleteObject", "arn:aws:s3:::b/k")),
            Decision::kExplicitDeny);
  EXPECT_EQ(Decide({deny, allow}, Req("s3:DeleteObject", "arn:aws:s3:::b/k")),
            Decision::kExplicitDeny);
  EXPECT_EQ(Decide({allow, deny}, Req("s3:GetObject", "arn:aws:s3:::b/k")), Decision::kAllow);
  // A deny in a bucket policy beats an identity policy's allow, too.
  auto bucket = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny",
      "Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/secret/*"}})");
  EXPECT_EQ(Decide({allow}, Req("s3:GetObject", "arn:aws:s3:::b/secret/x"), bucket),
            Decision::kExplicitDeny);
}

TEST(Evaluation, NotActionAllowsEverythingElse) {
  // reference_policies_elements_notaction: everything except IAM.
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "NotAction":"iam:*","Resource":"*"}})");
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::b/k")), Decision::kAllow);
  EXPECT_EQ(Decide({p}, Req("iam:CreateUser", "arn:aws:iam::111122223333:user/x")),
            Decision::kImplicitDeny);
  // Deny with NotAction: deny everything but the listed actions.
  auto deny = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny",
      "NotAction":["s3:GetObject","s3:ListBucket"],"Resource":"*"}})");
  auto all = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",
      "Resource":"*"}})");
  EXPECT_EQ(Decide({all, deny}, Req("s3:PutObject", "arn:aws:s3:::b/k")), Decision::kExplicitDeny);
  EXPECT_EQ(Decide({all, deny}, Req("s3:GetObject", "arn:aws:s3:::b/k")), Decision::kAllow);
}

TEST(Evaluation, NotResource) {
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*",
      "NotResource":["arn:aws:s3:::hr","arn:aws:s3:::hr/*"]}})");
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::sales/x")), Decision::kAllow);
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::hr/x")), Decision::kImplicitDeny);
}

TEST(Evaluation, ActionsAreCaseInsensitiveResourcesAreNot) {
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"S3:getobject","Resource":"arn:aws:s3:::B/*"}})");
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::B/k")), Decision::kAllow);
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::b/k")), Decision::kImplicitDeny);
}

TEST(Variables, UsernameInResourceAndCondition) {
  // reference_policies_variables: each user their own home folder.
  auto p = Identity(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home",
       "Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
      {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]})");
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::home/alice/a.txt")), Decision::kAllow);
  EXPECT_EQ(Decide({p}, Req("s3:GetObject", "arn:aws:s3:::home/bob/a.txt")),
            Decision::kImplicitDeny);
  auto list = Req("s3:ListBucket", "arn:aws:s3:::home");
  list.keys["s3:prefix"] = "alice/photos/";
  EXPECT_EQ(Decide({p}, list), Decision::kAllow);
  list.keys["s3:prefix"] = "bob/";
  EXPECT_EQ(Decide({p}, list), Decision::kImplicitDeny);
  list.keys.erase("s3:prefix");  // no prefix at all: the whole bucket
  EXPECT_EQ(Decide({p}, list), Decision::kImplicitDeny);
  // A variable the request lacks matches nothing.
  auto anonymous = Req("s3:GetObject", "arn:aws:s3:::home/alice/a.txt");
  anonymous.keys.erase("aws:username");
  EXPECT_EQ(Decide({p}, anonymous), Decision::kImplicitDeny);
  // Version 2008-10-17 has no variables: "${aws:username}" is literal text.
  auto old = Identity(R"({"Version":"2008-10-17","Statement":{"Effect":"Allow",
      "Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}})");
  EXPECT_EQ(Decide({old}, Req("s3:GetObject", "arn:aws:s3:::home/alice/a.txt")),
            Decision::kImplicitDeny);
  EXPECT_EQ(Decide({old}, Req("s3:GetObject", "arn:aws:s3:::home/${aws:username}/a")),
            Decision::kAllow);
}

TEST(Conditions, IfExistsHoldsWhenTheKeyIsAbsent) {
  // reference_policies_elements_condition_operators, "...IfExists condition operators".
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"ec2:*","Resource":"*",
      "Condition":{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}}})");
  auto r = Req("ec2:RunInstances", "*");
  EXPECT_EQ(Decide({p}, r), Decision::kAllow);  // no instance type in this request
  r.keys["ec2:instancetype"] = "t2.micro";
  EXPECT_EQ(Decide({p}, r), Decision::kAllow);
  r.keys["ec2:instancetype"] = "m4.large";
  EXPECT_EQ(Decide({p}, r), Decision::kImplicitDeny);
  // Without IfExists an absent key fails a positive operator...
  auto strict = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"ec2:*","Resource":"*",
      "Condition":{"StringLike":{"ec2:InstanceType":["t1.*"]}}}})");
  EXPECT_EQ(Decide({strict}, Req("ec2:RunInstances", "*")), Decision::kImplicitDeny);
  // ...and satisfies a negated one.
  auto negated = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"ec2:*","Resource":"*",
      "Condition":{"StringNotEquals":{"ec2:InstanceType":"m4.large"}}}})");
  EXPECT_EQ(Decide({negated}, Req("ec2:RunInstances", "*")), Decision::kAllow);
}

TEST(Conditions, SourceIpTimeTransportAndNumbers) {
  auto p = Identity(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"s3:*","Resource":"*",
       "Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]},
                    "DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},
                    "NumericLessThanEquals":{"s3:max-keys":"10"}}},
      {"Effect":"Deny","Action":"s3:*","Resource":"*",
       "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})");
  auto r = Req("s3:ListBucket", "arn:aws:s3:::b");
  r.keys["aws:sourceip"] = "203.0.113.7";
  r.keys["aws:currenttime"] = "2026-12-06T03:00:00Z";
  r.keys["s3:max-keys"] = "10";
  EXPECT_EQ(Decide({p}, r), Decision::kAllow);
  r.keys["aws:sourceip"] = "2001:db8:1::5";
  EXPECT_EQ(Decide({p}, r), Decision::kAllow);
  r.keys["aws:sourceip"] = "198.51.100.1";
  EXPECT_EQ(Decide({p}, r), Decision::kImplicitDeny);
  r.keys["aws:sourceip"] = "203.0.113.7";
  r.keys["s3:max-keys"] = "11";
  EXPECT_EQ(Decide({p}, r), Decision::kImplicitDeny);
  r.keys["s3:max-keys"] = "10";
  r.keys["aws:currenttime"] = "2027-01-01T00:00:01Z";
  EXPECT_EQ(Decide({p}, r), Decision::kImplicitDeny);
  r.keys["aws:currenttime"] = "2026-12-06T03:00:00Z";
  r.keys["aws:securetransport"] = "false";
  EXPECT_EQ(Decide({p}, r), Decision::kExplicitDeny);
}

TEST(Conditions, NullAndMultipleKeys) {
  // Null: true means "the key is absent".
  auto p = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*",
      "Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}})");
  auto all = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",
      "Resource":"*"}})");
  auto r = Req("s3:GetObject", "arn:aws:s3:::b/k");
  EXPECT_EQ(Decide({all, p}, r), Decision::kExplicitDeny);
  r.keys["aws:tokenissuetime"] = "2026-12-06T00:00:00Z";
  EXPECT_EQ(Decide({all, p}, r), Decision::kAllow);
  // Two keys under one operator must both hold; values of one key are alternatives.
  auto both = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",
      "Resource":"*","Condition":{"StringEquals":{"s3:prefix":["a/","b/"],"s3:delimiter":"/"}}}})");
  r.keys["s3:prefix"] = "b/";
  EXPECT_EQ(Decide({both}, r), Decision::kImplicitDeny);
  r.keys["s3:delimiter"] = "/";
  EXPECT_EQ(Decide({both}, r), Decision::kAllow);
}

TEST(ResourcePolicies, SameAccountEitherSideCrossAccountBoth) {
  auto bucket = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::444455556666:user/carol"},"Action":"s3:GetObject",
      "Resource":"arn:aws:s3:::b/*"}})");
  auto carol = Req("s3:GetObject", "arn:aws:s3:::b/k", "444455556666", "carol");
  // The bucket is 111122223333's; carol is in another account: her own account must allow too.
  EXPECT_EQ(Decide({}, carol, bucket), Decision::kImplicitDeny);
  auto carol_may = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"s3:GetObject","Resource":"*"}})");
  EXPECT_EQ(Decide({carol_may}, carol, bucket), Decision::kAllow);
  EXPECT_EQ(Decide({carol_may}, carol, nullptr), Decision::kImplicitDeny);
  // In the bucket's own account, a bucket policy naming the user is enough on its own.
  auto own = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":["arn:aws:iam::111122223333:user/alice"]},"Action":"s3:GetObject",
      "Resource":"arn:aws:s3:::b/*"}})");
  EXPECT_EQ(Decide({}, Req("s3:GetObject", "arn:aws:s3:::b/k"), own), Decision::kAllow);
  EXPECT_EQ(Decide({}, Req("s3:GetObject", "arn:aws:s3:::b/k", "111122223333", "bob"), own),
            Decision::kImplicitDeny);
  // Naming only the account delegates to the account's own policies.
  auto account = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}})");
  EXPECT_EQ(Decide({}, Req("s3:GetObject", "arn:aws:s3:::b/k"), account), Decision::kImplicitDeny);
}

TEST(ResourcePolicies, TrustPolicyWithExternalId) {
  // The seed's way in: a role in the provider's account trusts the customer's account,
  // on condition of the ExternalId handed to that customer.
  auto trust = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole",
      "Condition":{"StringEquals":{"sts:ExternalId":"Unique-7f3a"}}}})");
  auto may_assume = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"sts:AssumeRole","Resource":"*"}})");
  auto r = Req("sts:AssumeRole", "arn:aws:iam::111122223333:role/reader", "444455556666", "c");
  EXPECT_EQ(Decide({may_assume}, r, trust), Decision::kImplicitDeny);  // no ExternalId
  r.keys["sts:externalid"] = "wrong";
  EXPECT_EQ(Decide({may_assume}, r, trust), Decision::kImplicitDeny);
  r.keys["sts:externalid"] = "Unique-7f3a";
  EXPECT_EQ(Decide({may_assume}, r, trust), Decision::kAllow);
  // A trust policy must allow, even in the role's own account and for an administrator
  // (AWS's rule for sts:AssumeRole); naming the principal itself is enough on its own.
  auto admin = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*",
      "Resource":"*"}})");
  PolicySet set;
  set.identity = {admin.get()};
  set.resource = trust.get();
  set.resource_account = "111122223333";
  set.resource_required = true;
  auto local = Req("sts:AssumeRole", "arn:aws:iam::111122223333:role/reader");
  local.keys["sts:externalid"] = "Unique-7f3a";
  EXPECT_EQ(Evaluate(set, local), Decision::kImplicitDeny);
  auto names_alice = Resource(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}})");
  set.identity = {};
  set.resource = names_alice.get();
  EXPECT_EQ(Evaluate(set, local), Decision::kAllow);
  // Another account with the right ExternalId is not trusted.
  auto other = Req("sts:AssumeRole", "arn:aws:iam::111122223333:role/reader", "777788889999", "c");
  other.keys["sts:externalid"] = "Unique-7f3a";
  EXPECT_EQ(Decide({may_assume}, other, trust), Decision::kImplicitDeny);
}

TEST(SessionPolicies, IntersectWithTheRolesPolicies) {
  auto role = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*",
      "Resource":"*"}})");
  auto session = Identity(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/*"}})");
  auto r = Req("s3:GetObject", "arn:aws:s3:::b/public/x");
  EXPECT_EQ(Decide({role}, r, nullptr, "111122223333", session), Decision::kAllow);
  r.resource = "arn:aws:s3:::b/private/x";
  EXPECT_EQ(Decide({role}, r, nullptr, "111122223333", session), Decision::kImplicitDeny);
  r.action = "s3:PutObject";
  r.resource = "arn:aws:s3:::b/public/x";
  EXPECT_EQ(Decide({role}, r, nullptr, "111122223333", session), Decision::kImplicitDeny);
}

TEST(Parse, MalformedDocumentsSayWhy) {
  auto msg = [](std::string_view json, bool resource) {
    auto p = Policy::Parse(json, resource);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_EQ(msg("{", false), "This policy contains invalid Json");
  EXPECT_EQ(msg(R"({"Version":"2012-10-17"})", false), "Missing required field Statement");
  EXPECT_EQ(msg(R"({"Statement":{"Action":"s3:*","Resource":"*"}})", false),
            "Missing required field Effect");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Permit","Action":"s3:*","Resource":"*"}})", false),
            "Invalid effect: Permit");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Resource":"*"}})", false),
            "Policy statement must contain actions.");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Action":"s3:*"}})", false),
            "Policy statement must contain resources.");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}})", false),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*",
      "Resource":"*"}})",
                false),
            "Policy document should not specify a principal.");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}})", true),
            "Missing required field Principal");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Condition":{"StringSortOf":{"s3:prefix":"a"}}}})",
                false),
            "Syntax errors in policy.");
  EXPECT_EQ(msg(R"({"Version":"2020-01-01","Statement":[]})", false),
            "The policy failed legacy parsing");
  EXPECT_EQ(msg(R"({"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},
      "Action":"s3:*","Resource":"*"}})",
                true),
            "Invalid principal in policy: \"AWS\":\"bob\"");
}

}  // namespace
}  // namespace millrace::iam
