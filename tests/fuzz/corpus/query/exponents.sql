SELECT * FROM Notes WHERE score > 2.5e-1 AND score < .5E1 AND rank >= -3. ORDER BY score ASC NULLS FIRST OFFSET 1
