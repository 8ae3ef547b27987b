-- cutover:backfill batch=500 pause=10ms
-- Step 2 of 3 (deploy 2): copy what was written before the dual-writing release. The
-- application released after it reads `mobile`; `phone` is still written for the release
-- before, which may still be serving. In batches of 500 rows outside a transaction, so the
-- students table is never locked for long; an interrupted backfill resumes where it stopped.
UPDATE students SET mobile = phone WHERE mobile IS NULL AND phone IS NOT NULL;
