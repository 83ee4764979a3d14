"""Date formats for Korean pages and messages: 2026년 12월 15일 (화) 오전 10:00."""

DATE_FORMAT = "Y년 n월 j일 (D)"
TIME_FORMAT = "A g:i"
DATETIME_FORMAT = "Y년 n월 j일 (D) A g:i"
MONTH_DAY_FORMAT = "n월 j일"
YEAR_MONTH_FORMAT = "Y년 n월"
SHORT_DATE_FORMAT = "Y. n. j."
SHORT_DATETIME_FORMAT = "n월 j일 A g:i"
FIRST_DAY_OF_WEEK = 0
