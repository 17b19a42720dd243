-- Independent of the landing file: succeeds on the first try and is not rerun by a retry.
select * from (values (1, 'Ann'), (2, 'Bo')) as t(id, name)
