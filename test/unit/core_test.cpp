// Unit tests of the pure C++ core (src/policy/): no server needed.
#include <gtest/gtest.h>

#include <string>

#include "errors.hpp"
#include "policy/backoff.hpp"
#include "policy/interval.hpp"
#include "policy/settings.hpp"
#include "policy/sha256.hpp"

using namespace retention;
using namespace retention::policy;

namespace
{

IntervalValue
Days(int days)
{
	return IntervalValue{0, days, 0};
}

IntervalValue
Months(int months)
{
	return IntervalValue{0, 0, months};
}

std::string
Hash(const std::string &text)
{
	Sha256 sha;
	sha.Update(text.data(), text.size());
	return ToHex(sha.Finish());
}

Settings
ValidSettings()
{
	Settings settings;
	settings.name = "t";
	settings.retain = Months(6);
	settings.run_every = IntervalValue{3600LL * 1000000, 0, 0};
	return settings;
}

std::string
RefusalCode(const Settings &settings)
{
	try
	{
		ValidateSettings(settings);
	}
	catch (const Error &error)
	{
		return error.SqlState();
	}
	return "";
}

} // namespace

TEST(Interval, ComparesLikePostgres)
{
	EXPECT_EQ(CompareIntervals(Months(1), Days(30)), 0);
	EXPECT_LT(CompareIntervals(Days(29), Months(1)), 0);
	EXPECT_GT(CompareIntervals(IntervalValue{1, 30, 0}, Months(1)), 0);
	EXPECT_TRUE(IsNegative(IntervalValue{0, 10, -1}));  // 10 days - 1 month
	EXPECT_FALSE(IsNegative(IntervalValue{0, 31, -1})); // 31 days - 1 month
	EXPECT_FALSE(IsPositive(IntervalValue{}));
}

TEST(Interval, ChangeDirection)
{
	EXPECT_STREQ(ChangeDirection(Months(6), Months(12)), "increase");
	EXPECT_STREQ(ChangeDirection(Months(6), Days(30)), "decrease");
	EXPECT_EQ(ChangeDirection(Months(1), Days(30)), nullptr);
}

TEST(Interval, CalendarWidths)
{
	EXPECT_TRUE(IsCalendarWidth(Months(1)));
	EXPECT_TRUE(IsCalendarWidth(Months(3)));
	EXPECT_TRUE(IsCalendarWidth(Days(1)));
	EXPECT_TRUE(IsCalendarWidth(Days(7)));
	EXPECT_TRUE(IsCalendarWidth(IntervalValue{6LL * 3600 * 1000000, 0, 0})); // 6 hours
	EXPECT_FALSE(IsCalendarWidth(IntervalValue{0, 2, 1}));                   // 1 month 2 days
	EXPECT_FALSE(IsCalendarWidth(IntervalValue{1, 1, 0}));                   // 1 day 1 microsecond
	EXPECT_FALSE(IsCalendarWidth(IntervalValue{}));
	EXPECT_FALSE(IsCalendarWidth(Days(-1)));
}

TEST(Settings, AcceptsValid)
{
	EXPECT_EQ(RefusalCode(ValidSettings()), "");
}

TEST(Settings, RefusesEachBadValueWith22023)
{
	Settings s = ValidSettings();
	s.retain = Days(-1);
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.grace = Days(-1);
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.min_retain = Days(60);
	s.max_retain = Days(30);
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.max_retain = Days(30);
	EXPECT_EQ(RefusalCode(s), "22023"); // retain 6 months > 30 days

	s = ValidSettings();
	s.min_retain = Months(12);
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.batch_size = 0;
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.premake = -1;
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.partition_interval = IntervalValue{0, 2, 1}; // drifts against the calendar
	EXPECT_EQ(RefusalCode(s), "22023");
	s.partition_interval = Days(1);
	EXPECT_EQ(RefusalCode(s), "");

	s = ValidSettings();
	s.run_every = IntervalValue{};
	EXPECT_EQ(RefusalCode(s), "22023");

	s = ValidSettings();
	s.action = Action::ANONYMIZE;
	EXPECT_EQ(RefusalCode(s), "22023"); // anonymize missing

	s.has_anonymize = true;
	EXPECT_EQ(RefusalCode(s), "");
	s.has_archive = true;
	EXPECT_EQ(RefusalCode(s), "22023"); // archive_to with anonymize
}

TEST(Settings, PremakeOutlastsRunEvery)
{
	Settings s = ValidSettings();
	EXPECT_TRUE(PremakeOutlastsRunEvery(s));                      // no partitions
	s.partition_interval = IntervalValue{3600LL * 1000000, 0, 0}; // 1 hour
	s.run_every = Days(1);
	s.premake = 4;
	EXPECT_FALSE(PremakeOutlastsRunEvery(s));
	s.premake = 24;
	EXPECT_TRUE(PremakeOutlastsRunEvery(s));
	s.partition_interval = Days(1);
	s.premake = 0;
	EXPECT_FALSE(PremakeOutlastsRunEvery(s));
}

TEST(Settings, BoundsAreInclusive)
{
	Settings s = ValidSettings();
	s.retain = Days(30);
	s.min_retain = Days(30);
	s.max_retain = Months(1);
	EXPECT_EQ(RefusalCode(s), "");
}

TEST(Settings, ParsesAction)
{
	EXPECT_EQ(ParseAction("delete"), Action::DELETE);
	EXPECT_EQ(ParseAction("anonymize"), Action::ANONYMIZE);
	EXPECT_THROW(ParseAction("DELETE"), Error);
	EXPECT_THROW(ParseAction("truncate"), Error);
}

TEST(Backoff, GrowsAndIsCapped)
{
	const int64_t hour = 3600LL * 1000000;
	EXPECT_EQ(NextRunDelay(hour, 0), hour);
	EXPECT_EQ(NextRunDelay(hour, 1), hour);
	EXPECT_EQ(NextRunDelay(hour, 2), 2 * hour);
	EXPECT_EQ(NextRunDelay(hour, 3), 4 * hour);
	EXPECT_EQ(NextRunDelay(hour, 100), 32 * hour);
	const int64_t day = 24 * hour;
	EXPECT_EQ(NextRunDelay(day, 100), 7 * day);     // capped at a week
	EXPECT_EQ(NextRunDelay(30 * day, 5), 30 * day); // never sooner than run_every
}

TEST(Throttle, PausesToKeepTheRate)
{
	EXPECT_EQ(ThrottlePause(1000, 0, 0), 0);
	EXPECT_EQ(ThrottlePause(1000, 0, 1000), 1000000);
	EXPECT_EQ(ThrottlePause(1000, 400000, 1000), 600000);
	EXPECT_EQ(ThrottlePause(1000, 2000000, 1000), 0);
}

TEST(Sha256, StandardVectors)
{
	EXPECT_EQ(Hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_EQ(Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_EQ(Hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
	          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	EXPECT_EQ(Hash(std::string(1000000, 'a')),
	          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesMatchOneUpdate)
{
	const std::string text(200, 'x');
	Sha256 split;
	split.Update(text.data(), 63);
	split.Update(text.data() + 63, 65);
	split.Update(text.data() + 128, 72);
	EXPECT_EQ(ToHex(split.Finish()), Hash(text));
}

TEST(Sha256, HmacRfc4231Vectors)
{
	// RFC 4231 test case 1: key 0x0b * 20, data "Hi There"
	const std::string key1(20, '\x0b');
	const std::string data1 = "Hi There";
	EXPECT_EQ(ToHex(HmacSha256(key1.data(), key1.size(), data1.data(), data1.size())),
	          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	// test case 2: key "Jefe"
	const std::string key2 = "Jefe";
	const std::string data2 = "what do ya want for nothing?";
	EXPECT_EQ(ToHex(HmacSha256(key2.data(), key2.size(), data2.data(), data2.size())),
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	// test case 6: a 131-byte key (longer than a block) is hashed first
	const std::string key6(131, '\xaa');
	const std::string data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	EXPECT_EQ(ToHex(HmacSha256(key6.data(), key6.size(), data6.data(), data6.size())),
	          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(AuditHasher, FramingIsUnambiguous)
{
	AuditHasher a;
	a.AddValue("ab", 2);
	a.AddValue("c", 1);
	AuditHasher b;
	b.AddValue("a", 1);
	b.AddValue("bc", 2);
	EXPECT_NE(ToHex(a.Finish()), ToHex(b.Finish()));

	AuditHasher null_value;
	null_value.AddNull();
	AuditHasher empty_value;
	empty_value.AddValue("", 0);
	EXPECT_NE(ToHex(null_value.Finish()), ToHex(empty_value.Finish()));
}
