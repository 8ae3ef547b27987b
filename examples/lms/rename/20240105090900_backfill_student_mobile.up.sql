-- Step 2 of 3 (deploy 2): copy what was written before the dual-writing release. The
-- application released after it reads `mobile`; `phone` is still written for the release
-- before, which may still be serving.
UPDATE students SET mobile = phone WHERE mobile IS NULL AND phone IS NOT NULL;
