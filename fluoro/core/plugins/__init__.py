"""Runtime plugins: describe where the process runs (EC2, ECS, Elastic Beanstalk) on segments."""
