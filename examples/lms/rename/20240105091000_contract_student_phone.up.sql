-- cutover:phase contract
-- Step 3 of 3 (deploy 3, `cutover deploy --phase contract`): once the contract gate says
-- the release that reads `mobile` is the one serving, drop the old column.
-- cutover:allow ban-drop-column the serving release no longer reads or writes phone (contract gate)
ALTER TABLE students DROP COLUMN phone;
